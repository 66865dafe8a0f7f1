#!/usr/bin/env python3
"""The first example of parproc's README, as a parproc-host job module.

func0 (1 s) and func1 (3 s) run in parallel; func2 depends on both and sleeps 2 s, so the
run takes about 5 s. Build and run (see README.md, "Python quick start"):

    guest-sdk/python/build.sh examples/python/readme.py readme.wasm
    parproc-host run readme.wasm
"""

import time

import parproc as pp


@pp.Proc(now=True)
def func0(context):
    time.sleep(1)


@pp.Proc(now=True)
def func1(context):
    time.sleep(3)


@pp.Proc(now=True, deps=['func0', 'func1'])
def func2(context):
    time.sleep(2)


pp.wait_for_all()
