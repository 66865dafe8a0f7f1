"""The WIT exports (`declarations`, `procs`) answered from the registry, and the loader that
imports the job script while the component is built.

componentize-py looks for the classes `Declarations` and `Procs` in the app module; the
build wrapper generates an app module that loads the job script and re-exports these."""

import json
import runpy
import sys
import traceback

from componentize_py_types import Err
from wit_world import exports
# `parproc:jobs/types`, named apart from `wasi:http/types` (both are in the world).
from wit_world.imports import parproc_jobs_types as types

from . import _values as V
from ._context import DepProcContext, ProcContext, call_with_dep_context
from ._decl import (
    NO_FAILURES,
    REGISTRY,
    IgnoreLogIfSucceeded,
    RegexFiles,
    WhenScheduled,
    WhenTargetScheduled,
)
from ._errors import ProcFailedError, ProcNoChangeError, ProcSkippedError


def load_script(module, path_name):
    """Run the job script `module` as `__main__` (so `if __name__ == '__main__': main()`
    works), with `sys.argv` holding just its name."""
    sys.argv = [path_name]
    runpy.run_module(module, run_name="__main__", alter_sys=False)


def _exception_line(exc):
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


_SDK_DIR = __file__.rsplit("/", 1)[0] + "/"


def _print_traceback(exc):
    """The traceback of `exc` from the user's code on (the SDK's own frames are left out)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_SDK_DIR):
        tb = tb.tb_next
    # The host ends the log with the failure message (the exception line), so the frames
    # are enough here (parproc logs the message and the frames, not the type line).
    frames = traceback.format_tb(tb)
    if frames:
        sys.stderr.write("Traceback (most recent call last):\n" + "".join(frames))


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed stream must not fail the proc
            pass


def _job(decl):
    job = REGISTRY.jobs.get(decl)
    if job is None:
        raise Err(f'no declaration "{decl}" in this module')
    return job


def _dep_decl(dep):
    if dep is NO_FAILURES:
        return types.DepDecl_NoFailures()
    if isinstance(dep, str):
        return types.DepDecl_Name(dep)
    return types.DepDecl_Computed()


def _rdep_decl(rdep):
    if isinstance(rdep, WhenScheduled):
        return types.RdepDecl_WhenScheduled(rdep.pattern)
    if isinstance(rdep, WhenTargetScheduled):
        return types.RdepDecl_WhenTargetScheduled(rdep.pattern)
    return types.RdepDecl_Plain(rdep)


def _input_decl(item):
    if isinstance(item, str):
        return types.InputDecl_Path(item)
    if isinstance(item, RegexFiles):
        return types.InputDecl_RegexFiles(types.RegexFiles(root=item.root, pattern=item.pattern))
    return types.InputDecl_Computed()


def _incremental(job):
    return types.Incremental(
        inputs=[_input_decl(i) for i in job.inputs],
        inputs_ignore=list(job.inputs_ignore),
        outputs=[
            types.OutputDecl(path=o.path, max_age=o.max_age_text,
                             enforce_freshness=o.enforce_freshness)
            for o in job.outputs
        ],
        no_skip=job.no_skip,
    )


def _choices(job):
    if job.choices is None:
        return [], False
    if callable(job.choices):
        return [], True
    out = []
    for param, values in job.choices.items():
        if callable(values):
            source = types.ChoiceSource_Computed()
        else:
            source = types.ChoiceSource_Fixed([V.to_wit(v) for v in values])
        out.append(types.ArgChoices(param=param, source=source))
    return out, False


def _job_decl(job):
    choices, computed = _choices(job)
    return types.JobDecl(
        kind=types.DeclKind.PROC if job.kind == "proc" else types.DeclKind.PROTO,
        name=job.name,
        params=[types.ParamDecl(name=n, ty=V.wit_type(k)) for n, k in job.params],
        defaults=[types.Arg(name=n, value=V.to_wit(v)) for n, v in job.defaults],
        deps=[_dep_decl(d) for d in job.deps],
        rdeps=[_rdep_decl(r) for r in job.rdeps],
        locks=list(job.locks),
        wave=job.wave,
        now=job.now,
        limits=types.Limits(
            timeout_ms=None if job.timeout is None else int(round(job.timeout * 1000)),
            fuel=None if job.fuel is None else int(job.fuel),
            memory_bytes=None if job.memory is None else int(job.memory),
        ),
        choices=choices,
        choices_computed=computed,
        log_ignore=[
            types.LogIgnore_IfSucceeded(r.pattern)
            if isinstance(r, IgnoreLogIfSucceeded)
            else types.LogIgnore_Always(r.pattern)
            for r in job.log_ignore
        ],
        needs=types.Needs(
            dirs=[types.DirNeed(path=p, writable=w) for p, w in job.needs.dirs],
            env=list(job.needs.env),
            network=list(job.needs.network),
            input=job.needs.input,
            tools=list(job.needs.tools),
            http=list(job.needs.http),
        ),
        description=job.description,
        incremental=_incremental(job),
    )


def _run_options():
    o = REGISTRY.options
    mode = None
    if "mode" in o:
        mode = types.Mode.SINGLE if o["mode"] == "single" else types.Mode.PARALLEL
    return types.RunOptions(
        parallel=o.get("parallel"),
        mode=mode,
        separator=o.get("name_param_separator"),
        allow_missing_deps=o.get("allow_missing_deps"),
        # parproc's `task_db_path` only asks for an incremental run: the host's user chooses
        # where the state store is, never the module.
        task_db=True if o.get("task_db_path") is not None else None,
        inputs_ignore=list(o.get("global_inputs_ignore", [])),
    )


def _type_name(value):
    return type(value).__name__


def _callback(fn, dctx):
    """Run a guest callback; any exception becomes the `Err` text (never a trap)."""
    REGISTRY.running = True
    try:
        return call_with_dep_context(fn, dctx)
    except Err:
        raise
    except BaseException as e:  # noqa: BLE001 - a callback must never trap
        _print_traceback(e)
        raise Err(_exception_line(e)) from None
    finally:
        REGISTRY.running = False
        _flush()


def _choice_values(key, values, dctx):
    if callable(values):
        values = _callback(values, dctx)
        if not isinstance(values, (list, tuple)):
            raise Err(
                f'arg_choices lambda for "{key}" must return a sequence (list or tuple), got '
                f"{_type_name(values)}"
            )
    return [V.to_wit(v) for v in values]


class Declarations(exports.Declarations):
    def describe(self):
        return types.Manifest(
            jobs=[_job_decl(j) for j in REGISTRY.jobs.values()],
            targets=list(REGISTRY.targets),
            options=_run_options(),
            params=[(k, json.dumps(v)) for k, v in REGISTRY.params.items()],
        )

    def resolve_deps(self, decl, index, ctx):
        job = _job(decl)
        if index >= len(job.deps) or not callable(job.deps[index]):
            raise Err(f'dep {index} of "{decl}" is not a computed dep')
        out = _callback(job.deps[index], DepProcContext.from_wit(ctx))
        if isinstance(out, str):
            return [out]
        if not isinstance(out, (list, tuple)):
            raise Err(f"Lambda dependency must return str or list[str], got {_type_name(out)}")
        for item in out:
            if not isinstance(item, str):
                raise Err(f"Lambda dependency list item must be str, got {_type_name(item)}")
        return list(out)

    def resolve_inputs(self, decl, index, ctx):
        job = _job(decl)
        if index >= len(job.inputs) or not callable(job.inputs[index]):
            raise Err(f'input {index} of "{decl}" is not a computed input')
        out = _callback(job.inputs[index], DepProcContext.from_wit(ctx))
        if isinstance(out, str):
            return [out]
        if not isinstance(out, (list, tuple)):
            raise Err(f"Callable input must return str or list[str], got {_type_name(out)}")
        for item in out:
            if not isinstance(item, str):
                raise Err(f"Callable input list item must be str, got {_type_name(item)}")
        return list(out)

    def resolve_choices(self, decl, param, ctx):
        job = _job(decl)
        dctx = DepProcContext.from_wit(ctx)
        choices = job.choices
        if choices is None:
            raise Err(f'"{decl}" declares no arg_choices')
        if callable(choices):
            choices = _callback(choices, dctx)
            if not isinstance(choices, dict):
                raise Err(f"arg_choices callable must return a dict, got {_type_name(choices)}")
        keys = [param] if param is not None else list(choices)
        out = []
        for key in keys:
            if key not in choices:
                if param is not None and callable(job.choices):
                    continue
                raise Err(f'"{decl}" declares no arg_choices for "{key}"')
            out.append((key, _choice_values(key, choices[key], dctx)))
        return out


def _result_json(value):
    if hasattr(value, "model_dump") and callable(value.model_dump):
        value = value.model_dump()
    elif hasattr(value, "__dataclass_fields__"):
        import dataclasses

        value = dataclasses.asdict(value)
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise Err(types.ProcError_Failed(f"Return value is not JSON-serialisable: {e}")) from None


class Procs(exports.Procs):
    def run(self, decl, proc_name, args):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.reconfigure(line_buffering=True)
            except Exception:  # noqa: BLE001 - keep the default buffering
                pass
        job = REGISTRY.jobs.get(decl)
        if job is None:
            raise Err(types.ProcError_Failed(f'no declaration "{decl}" in this module'))
        kwargs = job.kwargs({a.name: V.from_wit(a.value) for a in args})
        context = ProcContext(proc_name, dict(kwargs))
        REGISTRY.running = True
        try:
            value = job.call(context, kwargs)
        except ProcFailedError as e:
            raise Err(types.ProcError_Failed(str(e).strip())) from None
        except ProcSkippedError as e:
            raise Err(types.ProcError_Skipped(str(e))) from None
        except ProcNoChangeError as e:
            raise Err(types.ProcError_NoChange(str(e))) from None
        except BaseException as e:  # noqa: BLE001 - an exception fails the proc, never traps
            _flush()
            _print_traceback(e)
            raise Err(types.ProcError_Failed(_exception_line(e))) from None
        finally:
            REGISTRY.running = False
            _flush()
        return _result_json(value)
