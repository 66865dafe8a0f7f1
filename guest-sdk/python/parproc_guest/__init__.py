"""parproc for WebAssembly: write parproc job scripts in Python and run each proc in its
own sandbox with `parproc-host`.

The API follows the Python library parproc, so an existing script changes only its import
(`import parproc as pp` works as is: the SDK ships a `parproc` alias of this package)::

    import time
    import parproc as pp

    @pp.Proc(now=True)
    def func0(context):
        time.sleep(1)

    @pp.Proto(name='build::[env]', arg_choices={'env': ['dev', 'prod']})
    def build(context, env: str) -> str:
        return f'built {env}'

    pp.run('build::*')      # a default target of the module
    pp.wait_for_all()

Build it into a component and run it::

    guest-sdk/python/build.sh jobs.py jobs.wasm
    parproc-host run jobs.wasm

The script is imported when the component is built (componentize-py pre-initialises it):
decorators register procs and protos then, and top-level `run`/`start`/`wait` calls record
the module's default targets. Each proc runs later, in a fresh instance, when the host asks.
"""

from ._context import DepProcContext, ExecResult, ProcContext
from ._decl import (
    NO_FAILURES,
    IgnoreLogAlways,
    IgnoreLogIfSucceeded,
    LogIssueRule,
    Needs,
    Output,
    Proc,
    Proto,
    RdepRule,
    RegexFiles,
    SpecialDep,
    WhenScheduled,
    WhenTargetScheduled,
    regex_files,
)
from . import _http as http
from ._errors import ProcessError, ProcFailedError, ProcNoChangeError, ProcSkippedError, UserError
from ._toplevel import (
    clear,
    create,
    get_procs,
    get_protos,
    results,
    run,
    set_options,
    set_params,
    start,
    wait,
    wait_clear,
    wait_for_all,
)

__all__ = [
    "DepProcContext",
    "ExecResult",
    "IgnoreLogAlways",
    "IgnoreLogIfSucceeded",
    "LogIssueRule",
    "NO_FAILURES",
    "Needs",
    "Output",
    "Proc",
    "ProcContext",
    "ProcFailedError",
    "ProcNoChangeError",
    "ProcSkippedError",
    "ProcessError",
    "Proto",
    "RdepRule",
    "RegexFiles",
    "SpecialDep",
    "UserError",
    "WhenScheduled",
    "WhenTargetScheduled",
    "clear",
    "create",
    "get_procs",
    "get_protos",
    "http",
    "regex_files",
    "results",
    "run",
    "set_options",
    "set_params",
    "start",
    "wait",
    "wait_clear",
    "wait_for_all",
]
