"""parproc's top-level API. A job script is imported when its component is built, so these
calls only *record*: the names given to `run`, `start`, `create` and `wait` become the
module's default targets (what `parproc-host run jobs.wasm` runs when given none), and
`set_params` / `set_options` become the module's params and run options."""

import json

from ._context import _names
from ._decl import REGISTRY, inputs_ignore_list, placeholders, warn
from ._errors import UserError


def _top(what):
    if REGISTRY.running:
        raise UserError("Use context when calling parproc from sub-process")


def _fill(proto_name, kwargs):
    name = proto_name
    for key, value in kwargs.items():
        name = name.replace(f"[{key}]", str(value))
    return name


def create(proto_name, proc_name=None, **kwargs):
    """Record `proto_name` (placeholders filled from `kwargs`) as a name the module creates;
    returns it in a list, so `pp.start(*pp.create('build::*'))` reads as in parproc."""
    _top("create")
    if proc_name is not None and not kwargs:
        raise UserError(
            "create(..., proc_name=...) at the top level of a job module is not supported; "
            "call it on the context inside a proc"
        )
    name = _fill(proto_name, kwargs)
    if placeholders(name):
        raise UserError(f'Pattern "{proto_name}" requires arguments for {placeholders(name)}')
    return [name]


def start(*names):
    """Record the names as default targets."""
    _top("start")
    for n in _names(names):
        REGISTRY.target(n)


def run(proto_name, proc_name=None, *, full=False, **kwargs):
    """Record `proto_name` (placeholders filled from `kwargs`) as a default target."""
    for n in create(proto_name, proc_name, **kwargs):
        REGISTRY.target(n)


def wait(*names):
    """Record the names as default targets (parproc-host starts what it waits for)."""
    start(*names)


def wait_for_all(exception_on_failure=True):
    """Nothing to record: `now` procs and default targets run when the module runs."""
    _top("wait_for_all")
    return True


def wait_clear(exception_on_failure=False):
    """As `wait_for_all`."""
    return wait_for_all(exception_on_failure)


def clear():
    """Not supported: a component declares one set of procs."""
    _top("clear")
    warn("clear() is ignored: a job module declares a single set of procs and protos")


def results():
    """Empty: nothing has run while the module is being built."""
    _top("results")
    return {}


def set_params(**params):
    """Module params (JSON values), visible to every proc and lambda; `--param` overrides."""
    _top("set_params")
    for key, value in params.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as e:
            raise UserError(f"param `{key}` is not JSON-serialisable: {e}") from None
        REGISTRY.params[key] = value


_KNOWN = {"parallel", "mode", "name_param_separator", "allow_missing_deps", "task_db_path",
          "global_inputs_ignore"}
_DISPLAY = {
    "dynamic", "debug", "full_log_on_failure", "watch", "watch_debounce_seconds",
    "track_python_imports", "python_import_roots",
}


def set_options(**options):
    """Run options: `parallel`, `mode` ('mp' or 'single'), `name_param_separator`,
    `allow_missing_deps`, `task_db_path` and `global_inputs_ignore`.

    `task_db_path` only asks for an incremental run: a module never chooses a host path, so
    the path itself is ignored (any value but None asks; the user picks the store with
    `--incremental` or `--state-dir`). `global_inputs_ignore` (paths or globs) is removed from
    every proc's declared inputs. Display options are accepted and ignored (the host's
    command line controls output), as are `track_python_imports` and `python_import_roots`
    (the component's digest covers its imports)."""
    _top("set_options")
    for key, value in options.items():
        if key == "mode" and value not in ("mp", "single"):
            raise UserError(f'mode must be "mp" or "single", got {value!r}')
        if key == "parallel" and (not isinstance(value, int) or value < 1):
            raise UserError(f"parallel must be a positive int, got {value!r}")
        if key == "global_inputs_ignore":
            value = inputs_ignore_list("global_inputs_ignore", value)
        if key in _KNOWN:
            REGISTRY.options[key] = value
        elif key not in _DISPLAY:
            raise UserError(f"unknown option `{key}`")


def get_procs():
    """The registered procs by name (their declarations)."""
    return {n: j for n, j in REGISTRY.jobs.items() if j.kind == "proc"}


def get_protos():
    """The registered protos by name (their declarations)."""
    return {n: j for n, j in REGISTRY.jobs.items() if j.kind == "proto"}
