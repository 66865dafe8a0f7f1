"""Declarations: `Proc`, `Proto`, special deps, rdep rules, and the module registry.

Everything here runs when the job script is imported, which for a component is at build
time (componentize-py pre-initialises the module), so a bad declaration fails the build
with a `UserError` rather than a run.
"""

import datetime
import inspect
import re
import sys

from . import _values as V
from ._errors import UserError

_PLACEHOLDER = re.compile(r"\[([^\]]+)\]")


class SpecialDep:
    """A dependency that is a global condition rather than a proc (`NO_FAILURES`)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


NO_FAILURES = SpecialDep("NO_FAILURES")
"""Run only if no other proc of the run has failed."""


class RdepRule:
    """A conditional reverse dependency."""

    def __init__(self, pattern):
        if not isinstance(pattern, str):
            raise UserError(
                f"{type(self).__name__} pattern must be a str, got '{type(pattern).__name__}'."
            )
        self.pattern = pattern

    def __repr__(self):
        return f"{type(self).__name__}({self.pattern!r})"


class WhenScheduled(RdepRule):
    """When the declarer is scheduled, the target (the pattern filled from the declarer's
    args) is created if needed, scheduled, and runs after the declarer."""


class WhenTargetScheduled(RdepRule):
    """When a proc matching the pattern is scheduled, the declarer becomes one of its deps
    (like a plain rdep); if the declarer is scheduled while the target is, it runs first."""


class LogIssueRule:
    """A log-ignore rule: a regular expression hiding matching lines from failure snippets."""

    def __init__(self, pattern):
        self.pattern = pattern


class IgnoreLogAlways(LogIssueRule):
    """Hide matching lines whatever the outcome."""


class IgnoreLogIfSucceeded(LogIssueRule):
    """Hide matching lines when the proc succeeded."""


class Needs:
    """Capabilities a proc asks for (a parproc-host addition): each is given only when the
    user grants it too.

    `dirs` and `dirs_rw` are guest paths (read-only and writable), `env` environment
    variable names, `network` addresses (`host:port`), `input` interactive input, `tools`
    the names of the WASI command-line tools the proc runs with `context.exec` (the user maps
    each with `--tool NAME=PATH.wasm`), `http` the origins it reaches over `wasi:http`
    (`https://api.example.com`; granted with `--allow-http`)."""

    def __init__(self, dirs=(), dirs_rw=(), env=(), network=(), input=False, tools=(),
                 http=()):
        self.dirs = [(d, False) for d in _strs(dirs, "Needs dirs")] + [
            (d, True) for d in _strs(dirs_rw, "Needs dirs_rw")
        ]
        self.env = _strs(env, "Needs env")
        self.network = _strs(network, "Needs network")
        self.input = bool(input)
        self.tools = _strs(tools, "Needs tools")
        self.http = _strs(http, "Needs http")


class RegexFiles:
    """An input made of every regular file below the directory `root` whose path relative to
    it (with `/` separators) matches the regular expression `pattern` (searched). Made by
    `regex_files`."""

    def __init__(self, root, pattern):
        self.root = root
        self.pattern = pattern

    def __repr__(self):
        return f"regex_files({self.root!r}, {self.pattern!r})"


def regex_files(root, pattern):
    """parproc's `regex_files(root, pattern)`: an input matching every regular file below the
    guest directory `root` whose relative path matches `pattern`. The regular expression is
    checked now (an invalid one is a `UserError`); the host checks it again with its own
    regex engine when it loads the module."""
    if not isinstance(root, str):
        raise UserError(f"regex_files root must be a str, got '{type(root).__name__}'.")
    if not isinstance(pattern, str):
        raise UserError(f"regex_files pattern must be a str, got '{type(pattern).__name__}'.")
    _absolute(root, "regex_files root")
    try:
        re.compile(pattern)
    except re.error as e:
        raise UserError(f"Invalid regex in regex_files: '{pattern}': {e}") from None
    return RegexFiles(root, pattern)


def _max_age_text(max_age):
    """`max_age` as the text the host parses: strings unchanged (`"1h"`, `"1 minutes"`), a
    number of seconds or a `timedelta` as its seconds (`"3600"`, `"0.5"`)."""
    if max_age is None or isinstance(max_age, str):
        return max_age
    if isinstance(max_age, datetime.timedelta):
        max_age = max_age.total_seconds()
    if isinstance(max_age, bool) or not isinstance(max_age, (int, float)):
        raise UserError(
            "Output max_age must be a number of seconds, a datetime.timedelta or a str like "
            f"'4s', '4m', '4h', '4d', got '{type(max_age).__name__}'."
        )
    if isinstance(max_age, int):
        return str(max_age)
    if max_age.is_integer():
        return str(int(max_age))
    text = repr(max_age)
    if "e" in text or "E" in text:  # the host reads plain decimals only
        text = f"{max_age:.9f}".rstrip("0").rstrip(".") or "0"
    return text


class Output:
    """A file a proc must leave behind (parproc's `Output`): a guest path or glob, with an
    optional `max_age` (seconds as an int or float, a `datetime.timedelta`, or a str like
    `"4s"`, `"1 minutes"`, `"2h"`, `"3 days"`) and `enforce_freshness` (after the run, an
    output with `max_age` must be newer than that; default True)."""

    def __init__(self, path, max_age=None, enforce_freshness=True):
        if not isinstance(path, str):
            raise UserError(f"Output path must be a str, got '{type(path).__name__}'.")
        _absolute(path, "Output path")
        self.path = path
        self.max_age = max_age
        self.max_age_text = _max_age_text(max_age)
        self.enforce_freshness = bool(enforce_freshness)

    def __repr__(self):
        return (f"Output({self.path!r}, max_age={self.max_age!r}, "
                f"enforce_freshness={self.enforce_freshness!r})")


def _absolute(path, what):
    """Guest paths are absolute: the host resolves them through the proc's grants."""
    if not path.startswith("/"):
        raise UserError(
            f"{what} '{path}' must be an absolute path inside the sandbox, like '/src/{path}'."
        )
    return path


def _is_glob(path):
    return any(c in path for c in "*?[")


def _strs(items, what):
    if isinstance(items, str):
        items = [items]
    out = []
    for item in items:
        if not isinstance(item, str):
            raise UserError(f"{what} must contain str values, got '{type(item).__name__}'.")
        out.append(item)
    return out


def placeholders(name):
    """The `[placeholder]` names of a name pattern, in order."""
    return _PLACEHOLDER.findall(name)


class Job:
    """One registered proc or proto: what `describe` reports and what `run` calls."""

    def __init__(self, kind, name, func, opts):
        self.kind = kind
        self.name = name
        self.func = func
        self.deps = opts["deps"]
        self.rdeps = opts["rdeps"]
        self.locks = opts["locks"]
        self.now = opts["now"]
        self.wave = opts["wave"]
        self.timeout = opts["timeout"]
        self.fuel = opts["fuel"]
        self.memory = opts["memory"]
        self.log_ignore = opts["log_ignore"]
        self.needs = opts["needs"]
        self.choices = opts["choices"]
        self.description = opts["description"]
        self.inputs = opts["inputs"]
        self.inputs_ignore = opts["inputs_ignore"]
        self.outputs = opts["outputs"]
        self.no_skip = opts["no_skip"]
        args = opts["args"]
        ph = placeholders(name)
        self.placeholders = ph

        sig = inspect.signature(func)
        params = list(sig.parameters.values())
        self.var_kw = any(p.kind == p.VAR_KEYWORD for p in params)
        named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        # parproc passes the context as the first positional argument. A function whose
        # first parameter is itself an argument (`def build(env)`) gets no context.
        self.takes_context = bool(named) and named[0].kind != named[0].KEYWORD_ONLY and (
            named[0].name not in ph and named[0].name not in args
        )
        if self.takes_context:
            named = named[1:]
        self.signature = {p.name: p for p in named}

        # Declared parameters: the function's own, then placeholders and args it lacks.
        decl = []
        for p in named:
            kind = V.type_of_annotation(p.annotation)
            if kind is None and p.annotation is not p.empty and p.name not in ph:
                continue  # a non-scalar annotation: only a default can fill it
            if kind is None and p.name in args:
                kind = V.type_of_value(args[p.name])
            if kind is None and p.default is not p.empty:
                kind = V.type_of_value(p.default)
            if kind is None and (p.name in ph or (p.name in args and V.is_scalar(args[p.name]))):
                kind = V.TEXT
            if kind is not None:
                decl.append((p.name, kind))
        names = {n for n, _ in decl}
        for n in ph:
            if n not in names:
                decl.append((n, V.TEXT))
                names.add(n)
        for n, value in args.items():
            if n not in names and V.is_scalar(value):
                decl.append((n, V.type_of_value(value)))
                names.add(n)
        self.params = decl
        # Scalar args go to the host as defaults; the rest stay here and are passed as is.
        self.defaults = [(n, v) for n, v in args.items() if V.is_scalar(v)]
        self.local_args = {n: v for n, v in args.items() if not V.is_scalar(v)}

    def kwargs(self, host_args):
        """The keyword arguments of a call: host args (converted), then `args` defaults the
        host did not send, restricted to what the function accepts."""
        out = dict(self.local_args)
        for n, v in self.defaults:
            out[n] = v
        out.update(host_args)
        for n, v in list(out.items()):
            p = self.signature.get(n)
            if p is not None:
                out[n] = V.convert_annotated(v, p.annotation)
        if self.var_kw:
            return out
        return {n: v for n, v in out.items() if n in self.signature}

    def call(self, context, kwargs):
        if self.takes_context:
            return self.func(context, **kwargs)
        return self.func(**kwargs)


class Registry:
    """Everything the module declares, filled in while the job script is imported."""

    def __init__(self):
        self.jobs = {}
        self.targets = []
        self.params = {}
        self.options = {}
        self.running = False

    def add(self, job):
        if job.name in self.jobs:
            what = "Proc" if job.kind == "proc" else "Proto"
            raise UserError(f'{what} "{job.name}" already created')
        self.jobs[job.name] = job

    def target(self, name):
        if name not in self.targets:
            self.targets.append(name)


REGISTRY = Registry()


def warn(message):
    """A build-time warning (printed while the script is imported)."""
    print(f"parproc: warning: {message}", file=sys.stderr)


def _as_list(value, single, what, kind):
    """`value` as a list: `None` is empty, a `single` item is a list of one, else it must be a
    list or tuple (`UserError` otherwise)."""
    if value is None:
        return []
    if single(value):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise UserError(f"{what} {kind} must be a list, got '{type(value).__name__}'.")
    return value


def _inputs(what, inputs):
    out = []
    for item in _as_list(inputs, lambda v: isinstance(v, (str, RegexFiles)) or callable(v),
                         what, "inputs"):
        if isinstance(item, str):
            _absolute(item, f"{what} input")
        elif not (isinstance(item, RegexFiles) or callable(item)):
            raise UserError(
                f"{what} inputs must contain str, regex_files(...) or callable values, got "
                f"'{type(item).__name__}'."
            )
        out.append(item)
    return out


def inputs_ignore_list(what, items):
    """`inputs_ignore` / `global_inputs_ignore`: globs (matched against the whole guest path)
    or absolute paths."""
    out = _strs(items or [], what)
    for item in out:
        if not _is_glob(item):
            _absolute(item, what)
    return out


def _outputs(what, outputs):
    out = []
    for item in _as_list(outputs, lambda v: isinstance(v, (str, Output)), what, "outputs"):
        if isinstance(item, str):
            item = Output(item)
        if not isinstance(item, Output):
            raise UserError(
                f"{what} outputs must contain str or Output values, got '{type(item).__name__}'."
            )
        out.append(item)
    return out


def _options(what, *, deps, rdeps, locks, now, args, timeout, wave, arg_choices, log_ignore,
             needs, fuel, memory, description, inputs, inputs_ignore, outputs, no_skip):
    if deps is None:
        deps = []
    if what == "Proto" and not isinstance(deps, (list, tuple)):
        raise UserError(
            f"Proto deps must be a list or tuple, got {type(deps).__name__}. If you want to use "
            "a lambda dependency, wrap it in a list: deps=[lambda ...]"
        )
    if isinstance(deps, str):
        deps = [deps]
    for d in deps:
        if not (isinstance(d, (str, SpecialDep)) or callable(d)):
            raise UserError(
                f"{what} deps must contain str, callable, or SpecialDep values, got "
                f"'{type(d).__name__}'."
            )
    if isinstance(rdeps, (str, RdepRule)):
        rdeps = [rdeps]
    rdeps = list(rdeps or [])
    for r in rdeps:
        if not isinstance(r, (str, RdepRule)):
            raise UserError(
                f"{what} rdeps must contain str, WhenScheduled or WhenTargetScheduled values, "
                f"got '{type(r).__name__}'."
            )
    rules = []
    if log_ignore is not None:
        items = log_ignore if isinstance(log_ignore, (list, tuple)) else [log_ignore]
        for item in items:
            if isinstance(item, str):
                item = IgnoreLogAlways(item)
            if not isinstance(item, LogIssueRule):
                raise UserError(
                    f"{what} log_ignore must contain str or LogIssueRule values, got "
                    f"'{type(item).__name__}'."
                )
            try:
                re.compile(item.pattern)
            except re.error as e:
                raise UserError(f"Invalid regex in {what} log_ignore: '{item.pattern}': {e}") from None
            rules.append(item)
    if needs is not None and not isinstance(needs, Needs):
        raise UserError(f"{what} needs must be a pp.Needs, got '{type(needs).__name__}'.")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise UserError(f"{what} args must be a dict, got '{type(args).__name__}'.")
    if not isinstance(wave, int) or isinstance(wave, bool):
        raise UserError(f"{what} wave must be an int, got '{type(wave).__name__}'.")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout < 0):
        raise UserError(f"{what} timeout must be a number of seconds >= 0, got {timeout!r}.")
    return {
        "deps": list(deps),
        "rdeps": rdeps,
        "locks": _strs(locks or [], f"{what} locks"),
        "now": bool(now),
        "args": dict(args),
        "timeout": timeout,
        "wave": wave,
        "choices": arg_choices,
        "log_ignore": rules,
        "needs": needs or Needs(),
        "fuel": fuel,
        "memory": memory,
        "description": description,
        "inputs": _inputs(what, inputs),
        "inputs_ignore": inputs_ignore_list(f"{what} inputs_ignore", inputs_ignore),
        "outputs": _outputs(what, outputs),
        "no_skip": bool(no_skip),
    }


def _describe(func, description):
    if description is not None:
        return str(description)
    doc = inspect.getdoc(func) or ""
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def _check_choices(name, choices):
    if choices is None or callable(choices):
        return
    if not isinstance(choices, dict):
        raise UserError(f"Proto arg_choices must be a dict or a callable, got '{type(choices).__name__}'.")
    ph = placeholders(name)
    for key, values in choices.items():
        if key not in ph:
            raise UserError(
                f'Proto arg_choices key "{key}" is not a parameter in pattern "{name}". '
                f"Pattern parameters: [{', '.join(repr(p) for p in ph)}]"
            )
        if not (callable(values) or isinstance(values, (list, tuple))):
            raise UserError(
                f'arg_choices for "{key}" must be a list, a tuple or a callable, got '
                f"{type(values).__name__}"
            )


def Proc(name=None, f=None, *, deps=None, rdeps=None, locks=None, now=False, args=None,
         timeout=None, wave=0, log_ignore=None, needs=None, fuel=None, memory=None,
         description=None, inputs=None, inputs_ignore=None, outputs=None, no_skip=False,
         track_imports=None):
    """Register a proc: `@pp.Proc(name=..., deps=[...], now=True)` or `pp.Proc(name, f)`.

    `deps` are proc names (or filled-out proto names, patterns and globs), callables
    computing names, and `pp.NO_FAILURES`; `rdeps` are patterns, `pp.WhenScheduled(...)` and
    `pp.WhenTargetScheduled(...)`; `locks` are lock names held while running; `args` are the
    keyword arguments the function gets (scalars are typed from the function's annotations);
    `timeout` is in seconds. `fuel`, `memory` (bytes) and `needs` are parproc-host additions.

    For incremental runs: `inputs` are guest paths or globs (`'/src/**/*.py'`, `[param]`s
    filled from the args by the host), `pp.regex_files(root, pattern)` and callables computing
    paths (called like lambda deps); `inputs_ignore` removes paths or globs from them;
    `outputs` are paths, globs or `pp.Output(path, max_age=..., enforce_freshness=...)` the
    proc must leave behind (checked after every successful run); `no_skip=True` always runs
    it. `track_imports` is accepted and ignored: the component's digest covers its imports.
    Returns the function unchanged."""
    if callable(name) and f is None and not isinstance(name, str):
        # `@pp.Proc` without parentheses.
        return Proc()(name)
    opts = _options("Proc", deps=deps, rdeps=rdeps, locks=locks, now=now, args=args,
                    timeout=timeout, wave=wave, arg_choices=None, log_ignore=log_ignore,
                    needs=needs, fuel=fuel, memory=memory, description=description,
                    inputs=inputs, inputs_ignore=inputs_ignore, outputs=outputs,
                    no_skip=no_skip)

    def register(func):
        proc_name = name if name is not None else getattr(func, "__name__", None)
        if proc_name is None:
            raise UserError("Proc name cannot be None")
        if placeholders(proc_name):
            raise UserError(
                f'Proc name "{proc_name}" contains proto pattern placeholders. Proc names must be '
                "fully resolved (no [param] placeholders)."
            )
        opts["description"] = _describe(func, opts["description"])
        REGISTRY.add(Job("proc", proc_name, func, opts))
        return func

    if f is not None:
        return register(f)
    return register


def Proto(name=None, f=None, deps=None, rdeps=None, locks=None, now=False, args=None,
          timeout=None, wave=0, arg_choices=None, log_ignore=None, needs=None, fuel=None,
          memory=None, description=None, inputs=None, inputs_ignore=None, outputs=None,
          no_skip=False, track_imports=None):
    """Register a proto (a template): `@pp.Proto(name='build::[env]', arg_choices=...)`.

    Options are those of `Proc`, plus `arg_choices`: a dict placeholder -> list of allowed
    values (or a callable returning one), or a callable returning the whole dict. Callables
    (here, in `deps` and in `inputs`) get a `DepProcContext` first, then the args they name
    as keywords. Each `[placeholder]` is passed to the function by name, typed from its
    annotation."""
    if callable(name) and f is None and not isinstance(name, str):
        return Proto()(name)
    opts = _options("Proto", deps=deps, rdeps=rdeps, locks=locks, now=now, args=args,
                    timeout=timeout, wave=wave, arg_choices=arg_choices, log_ignore=log_ignore,
                    needs=needs, fuel=fuel, memory=memory, description=description,
                    inputs=inputs, inputs_ignore=inputs_ignore, outputs=outputs,
                    no_skip=no_skip)

    def register(func):
        proto_name = name if name is not None else getattr(func, "__name__", None)
        if proto_name is None:
            raise UserError("Proto name cannot be None")
        _check_choices(proto_name, arg_choices)
        opts["description"] = _describe(func, opts["description"])
        REGISTRY.add(Job("proto", proto_name, func, opts))
        return func

    if f is not None:
        return register(f)
    return register
