#!/usr/bin/env python3
"""parproc's examples/failed_deps.py as a parproc-host job module: a failure cancels only
its own subtree.

In the `a` tree everything succeeds. In the `x` tree the root `x` fails, so x_a and x_b end
FAILED_DEP (`canceled due to failure of "x"`), and so do x_a_a and x_a_b (`canceled due to
failure of "x_a"`); none of their bodies run. The run fails (exit status 1).
"""

import time

import parproc as pp

print('Shows behavior when dependencies fail')


@pp.Proc(now=True)
def a(context):
    time.sleep(1)


@pp.Proc(now=True, deps=['a'])
def a_a(context):
    time.sleep(3)


@pp.Proc(now=True, deps=['a'])
def a_b(context):
    time.sleep(2)


@pp.Proc(now=True, deps=['a_a'])
def a_a_a(context):
    time.sleep(1)


@pp.Proc(now=True, deps=['a_a'])
def a_a_b(context):
    time.sleep(1)


@pp.Proc(now=True)
def x(context):
    time.sleep(1)
    print('Internal error caused by x')
    raise Exception('Failure')  # pylint: disable=broad-exception-raised


@pp.Proc(now=True, deps=['x'])
def x_a(context):
    time.sleep(3)


@pp.Proc(now=True, deps=['x'])
def x_b(context):
    time.sleep(2)


@pp.Proc(now=True, deps=['x_a'])
def x_a_a(context):
    time.sleep(1)


@pp.Proc(now=True, deps=['x_a'])
def x_a_b(context):
    time.sleep(1)


try:
    pp.wait_for_all()
except Exception:  # pylint: disable=broad-exception-caught
    pass
