"""What a running proc sees: `ProcContext` (through the WIT `context` import) and what
computed deps and choices see: `DepProcContext`."""

import inspect
import json
from collections.abc import Mapping

from . import _values as V
from ._decl import _strs
from ._errors import ProcessError, UserError

try:  # The bindings exist inside a component only (imported while it is built).
    from componentize_py_types import Err as _Err
    from wit_world.imports import context as _wit_context
    from wit_world.imports import parproc_jobs_types as _wit_types
except ImportError:  # imported by the build command on the build machine
    _Err = _wit_context = _wit_types = None


def _host():
    return _wit_context


def _err_text(err):
    value = getattr(err, "value", err)
    return value if isinstance(value, str) else str(value)


def _call(fn, *args):
    """Call a context import; its `Err` becomes a `UserError` with the host's message."""
    try:
        return fn(*args)
    except _Err as e:
        raise UserError(_err_text(e)) from None


def _params(pairs):
    out = {}
    for name, text in pairs:
        try:
            out[name] = json.loads(text)
        except ValueError:
            out[name] = text
    return out


def _names(names):
    """Flatten `wait('a', ['b', 'c'])` into a list of names."""
    out = []
    for n in names:
        if isinstance(n, (list, tuple)):
            out.extend(_names(n))
        elif isinstance(n, str):
            out.append(n)
        else:
            raise UserError(f"proc names must be str, got '{type(n).__name__}'")
    return out


# The `proc-state`s of `context.wait` that fail the waiter. SUCCEEDED, SKIPPED and UP_TO_DATE
# (restored from the state store of an incremental run, new in parproc:jobs@0.2.0) count as
# successes, as in parproc.
_FAILED_STATES = ("FAILED", "FAILED_DEP", "CANCELLED")


def _wit_args(kwargs):
    return [_wit_types.Arg(name=k, value=V.to_wit(v)) for k, v in kwargs.items()]


class _Results(Mapping):
    """`context.results`: name -> result of every finished proc in this proc's view, read
    from the host on first use (the view moves forward after a `wait`)."""

    def __init__(self):
        self._names = None
        self._values = {}

    def _refresh(self):
        self._names = None
        self._values = {}

    def _keys(self):
        if self._names is None:
            self._names = list(_host().result_names())
        return self._names

    def __getitem__(self, name):
        if name in self._values:
            return self._values[name]
        text = _host().result(name)
        if text is None:
            raise KeyError(name)
        value = json.loads(text)
        self._values[name] = value
        return value

    def __iter__(self):
        return iter(self._keys())

    def __len__(self):
        return len(self._keys())

    def __contains__(self, name):
        return name in self._values or name in self._keys()

    def __repr__(self):
        return repr(dict(self))


def _exec_env(env):
    """`exec`'s `env` as name-value pairs: a mapping or an iterable of pairs, all str."""
    if env is None:
        return []
    pairs = list(env.items()) if isinstance(env, Mapping) else list(env)
    out = []
    for pair in pairs:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2
                and all(isinstance(x, str) for x in pair)):
            raise UserError(f"exec env must map str names to str values, got {pair!r}")
        out.append((pair[0], pair[1]))
    return out


def _exec_stdin(stdin):
    if stdin is None:
        return b""
    if isinstance(stdin, str):
        return stdin.encode("utf-8")
    if isinstance(stdin, (bytes, bytearray, memoryview)):
        return bytes(stdin)
    raise UserError(f"exec stdin must be bytes or str, got '{type(stdin).__name__}'.")


class ExecResult:
    """How a tool run with `context.exec` ended: `exit_code` (0 for success; 134 when the
    tool trapped, with the host's reason at the end of `stderr`), `stdout` and `stderr`
    (bytes, at most `max_output` of each) and `truncated` (whether either was longer; the
    whole of both went to the proc's log). `success`, `stdout_text` and `stderr_text`
    (decoded as UTF-8, invalid bytes replaced) are shorthands."""

    def __init__(self, exit_code, stdout, stderr, truncated):
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        self.truncated = truncated

    @classmethod
    def from_wit(cls, out):
        return cls(int(out.exit_code), bytes(out.stdout), bytes(out.stderr),
                   bool(out.truncated))

    @property
    def success(self):
        return self.exit_code == 0

    @property
    def stdout_text(self):
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def stderr_text(self):
        return self.stderr.decode("utf-8", errors="replace")

    def __repr__(self):
        return (f"ExecResult(exit_code={self.exit_code!r}, stdout={self.stdout!r}, "
                f"stderr={self.stderr!r}, truncated={self.truncated!r})")


class ProcContext:
    """The first argument of every proc function (parproc's `ProcContext`).

    `proc_name`, `args` (this proc's arguments), `params` (global params), `results`
    (name -> result of finished procs), `deps_changed`, `changed_deps`, and the calls
    `create`, `start`, `run`, `wait`, `get_input`, `log` and `exec`."""

    input_fingerprint = None

    def __init__(self, proc_name, args):
        self.proc_name = proc_name
        self.args = args
        self._results = _Results()
        self._params = None

    @property
    def params(self):
        if self._params is None:
            self._params = _params(_host().params())
        return self._params

    @property
    def results(self):
        return self._results

    @property
    def deps_changed(self):
        return bool(_host().deps_changed())

    @property
    def changed_deps(self):
        return list(_host().changed_deps())

    def create(self, proto_name, proc_name=None, **kwargs):
        """Create procs from a proto (or return an existing proc); returns the names.
        `proto_name` may be a filled-out name, a glob or a pattern filled from `kwargs`."""
        return list(_call(_host().create, proto_name, _wit_args(kwargs), proc_name))

    def start(self, *names):
        """Schedule existing procs."""
        names = _names(names)
        if names:
            _call(_host().start, names)

    def run(self, proto_name, proc_name=None, **kwargs):
        """Create, then start; returns the names."""
        return list(_call(_host().run, proto_name, _wit_args(kwargs), proc_name))

    def wait(self, *names):
        """Start the named procs if idle and wait until all are complete. Raises
        `ProcessError` if any of them failed; refreshes `results` either way."""
        names = _names(names)
        if not names:
            return
        statuses = _call(_host().wait, names)
        self._results._refresh()
        failed = [s for s in statuses if s.state.name in _FAILED_STATES]
        if failed:
            detail = "; ".join(
                f'"{s.name}" {s.state.name.lower().replace("_", "-")}'
                + (f": {s.message}" if s.message else "")
                for s in failed
            )
            raise ProcessError(f"Process error [3]: {detail}")

    def get_input(self, message="", password=False):
        """Ask the user for a line of input (needs `Needs(input=True)` and `--input`)."""
        return _call(_host().get_input, message, bool(password))

    def exec(self, tool, args=(), env=None, stdin=b"", dirs=(), dirs_rw=(), max_output=None):
        """Run the WASI command-line tool `tool` to its end and return an `ExecResult` (a
        parproc-host addition). The proc declares the tool with `Needs(tools=[...])` and the
        user maps it with `--tool NAME=PATH.wasm`.

        `args` follow `argv[0]` (the tool's name); `env` (a dict or name-value pairs) is the
        tool's whole environment; `stdin` (bytes, or str as UTF-8) is what it reads, then end
        of file. The tool sees only the directories given, at the same paths: `dirs`
        read-only and `dirs_rw` writable, each one of this proc's granted directories (or
        below one), writable only where this proc's is; besides those, its own read-only
        data directories and a private writable `/tmp`. `max_output` bounds the bytes of
        stdout and of stderr returned (the host's default and cap, 1 MiB, when None). The
        tool's fuel and memory come out of this proc's budget; a tool that uses up the fuel
        ends this proc. Raises `UserError` with the host's message when the tool cannot
        start (not declared, a directory not granted, a tool that does not load)."""
        if not isinstance(tool, str):
            raise UserError(f"exec tool must be a str, got '{type(tool).__name__}'.")
        if max_output is not None and (
            isinstance(max_output, bool) or not isinstance(max_output, int) or max_output < 0
        ):
            raise UserError(f"exec max_output must be an int >= 0, got {max_output!r}.")
        request = _wit_types.ExecRequest(
            tool=tool,
            args=_strs(args, "exec args"),
            env=_exec_env(env),
            stdin=_exec_stdin(stdin),
            dirs=[_wit_types.ExecDir(path=d, writable=False) for d in _strs(dirs, "exec dirs")]
            + [_wit_types.ExecDir(path=d, writable=True) for d in _strs(dirs_rw, "exec dirs_rw")],
            max_output=max_output,
        )
        return ExecResult.from_wit(_call(_host().exec, request))

    def log(self, message, level="info"):
        """Write a record to this proc's log (`trace`, `debug`, `info`, `warn`, `error`)."""
        levels = _wit_types.LogLevel
        _host().log(getattr(levels, str(level).upper(), levels.INFO), str(message))

    def __repr__(self):
        return f"ProcContext(proc_name={self.proc_name!r}, args={self.args!r})"


class DepProcContext:
    """What a dependency lambda or `arg_choices` callable gets first: the `proc_name` being
    created (it may contain globs for choices), its `args` (proto defaults overridden by the
    values in the name, as text) and the global `params`."""

    def __init__(self, proc_name, args, params):
        self.proc_name = proc_name
        self.args = args
        self.params = params

    @classmethod
    def from_wit(cls, ctx):
        return cls(ctx.proc_name, dict(ctx.args), _params(ctx.params))

    def __repr__(self):
        return f"DepProcContext(proc_name={self.proc_name!r}, args={self.args!r})"


def call_with_dep_context(fn, dctx):
    """parproc's calling convention for dependency lambdas and choices callables (see
    docs/planner.md §8.3): the first positional parameter gets the `DepProcContext`, every further
    parameter whose name is an arg gets that arg; a callable with no parameters gets none."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn(dctx)
    params = [p for p in sig.parameters.values() if p.kind != p.VAR_POSITIONAL]
    if not params:
        return fn()
    first, rest = params[0], params[1:]
    kwargs = {}
    for p in rest:
        if p.kind == p.VAR_KEYWORD:
            if "kwargs" in dctx.args:
                kwargs["kwargs"] = dctx.args["kwargs"]
        elif p.name in dctx.args:
            kwargs[p.name] = dctx.args[p.name]
    if first.kind == first.KEYWORD_ONLY:
        return fn(**kwargs)
    return fn(dctx, **kwargs)
