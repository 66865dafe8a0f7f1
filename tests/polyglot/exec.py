"""Test fixture for host/tests/all/tools.rs: `context.exec` through the Python SDK, running
the preview1 test tool `p1` (tests/tools/tool_p1.c); exec.js and exec.c are the same module
in JavaScript and C, and all three must answer alike."""

import parproc as pp

P1 = pp.Needs(tools=["p1"], dirs=["/data"])


def answer(r):
    return {"exit": r.exit_code, "stdout": r.stdout_text, "stderr": r.stderr_text,
            "truncated": r.truncated}


@pp.Proc(needs=P1)
def echo(context):
    return answer(context.exec("p1", ["echo", "a", "b"], env={"GREETING": "hi"}))


@pp.Proc(needs=P1)
def cut(context):
    return answer(context.exec("p1", ["echo", "a", "b"], max_output=4))


@pp.Proc(needs=P1)
def stdin(context):
    return answer(context.exec("p1", ["stdin"], stdin="piped in"))


@pp.Proc(needs=P1)
def cat(context):
    return answer(context.exec("p1", ["cat", "/data/in.txt"], dirs=["/data"]))


@pp.Proc(needs=P1)
def unpassed(context):
    """Has /data but does not pass it on."""
    return answer(context.exec("p1", ["cat", "/data/in.txt"]))


@pp.Proc(needs=P1)
def undeclared(context):
    try:
        context.exec("p2", ["echo"])
    except pp.UserError as e:
        return {"err": str(e)}
    return {"err": None}
