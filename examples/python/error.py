#!/usr/bin/env python3
"""parproc's examples/error.py as a parproc-host job module: two procs fail at different
times, and the independent ones still run.

func0 and func1 print a line and raise after 1 s and 3 s; func2, func3 and func4 succeed.
The run fails (exit status 1) after about 5 s, naming func0 and func1 and their messages.
"""

import time

import parproc as pp

print('Multiple concurrent processes, where a couple are failing at various times')


@pp.Proc(now=True)
def func0(context):
    time.sleep(1)
    print('Internal error caused by X')
    raise Exception('Failure')  # pylint: disable=broad-exception-raised


@pp.Proc(now=True)
def func1(context):
    time.sleep(3)
    print('Another internal error message')
    raise Exception('Failure')  # pylint: disable=broad-exception-raised


@pp.Proc(now=True)
def func2(context):
    time.sleep(2)


@pp.Proc(now=True)
def func3(context):
    time.sleep(1)


@pp.Proc(now=True)
def func4(context):
    time.sleep(5)


try:
    pp.wait_for_all()
except Exception:  # pylint: disable=broad-exception-caught
    pass
