"""Test fixture for host/tests/all/polyglot.rs: parproc's top-level API called from inside a
running proc raises parproc's error in both modes (README "Differences from Python
parproc"); the context does the same work. toplevel.js is the same module in JavaScript."""

import parproc as pp


@pp.Proto(name="child::[n]")
def child(context, n: int):
    return n


@pp.Proc()
def top_create(context):
    pp.create("child::1")


@pp.Proc()
def top_params(context):
    pp.set_params(x=1)


@pp.Proc()
def ctx_create(context):
    names = context.create("child::2")
    context.start(*names)
    context.wait(*names)
    return names
