"""Python benchmark module: the fan-out graph of tests/programs/bench_jobs (`t::0` ...
`t::{n-1}` and `sink`, sized by the `n` param) and a one-proc `noop`, for the per-proc
figure and the cold/warm start of a Python guest (bench/run.sh builds it)."""

import parproc as pp

pp.set_params(n=1000)


@pp.Proto(name='t::[i]', arg_choices={'i': lambda ctx: list(range(int(ctx.params.get('n', 1000))))})
def t(context, i: int):
    return None


@pp.Proc(deps=['t::*'])
def sink(context):
    return None


@pp.Proc()
def noop(context):
    return None
