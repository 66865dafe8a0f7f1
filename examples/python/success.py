#!/usr/bin/env python3
"""parproc's examples/success.py as a parproc-host job module: every proc succeeds, and a
skipped proc counts as a success.

skipped_task, func0 and func1 start together; func2 waits for func0 and func1, func3 for
func2, and func4 for func2 and func3 (about 3 + 2 + 1 + 5 = 11 s). Like parproc's own
script it defines its procs in a function called from `main()`: the module is run as
`__main__` when its component is built, so that shape works unchanged.
"""

import argparse
import time

import parproc as pp


def define_procs():
    """Define all processes."""

    @pp.Proc(now=True)
    def skipped_task(context):
        raise pp.ProcSkippedError('Nothing to do for this run')

    @pp.Proc(now=True)
    def func0(context):
        time.sleep(1)

    @pp.Proc(now=True)
    def func1(context):
        print('some output')
        time.sleep(3)

    @pp.Proc(now=True, deps=['func0', 'func1'])
    def func2(context):
        time.sleep(2)

    @pp.Proc(now=True, deps=['func2'])
    def func3(context):
        time.sleep(1)

    @pp.Proc(now=True, deps=['func2', 'func3'])
    def func4(context):
        time.sleep(5)


def main():
    parser = argparse.ArgumentParser(description='Concurrent processes with dependencies')
    parser.add_argument('--no-live', action='store_false', dest='live', default=True,
                        help='Disable live terminal output')
    args = parser.parse_args()

    # Display options are accepted and left to parproc-host's command line.
    pp.set_options(dynamic=args.live)
    define_procs()

    try:
        pp.wait_for_all()
    except Exception:  # pylint: disable=broad-exception-caught
        pass


if __name__ == '__main__':
    main()
