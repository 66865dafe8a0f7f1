#!/usr/bin/env python3
"""Peer half of the scheduler benchmark: time parproc 0.7.1 and GNU make on fixed graphs.

The Rust side benchmarks the WebAssembly reimplementation on the same graphs; this script
measures the programs it is compared with ("peers"). Standard library only.

Graphs (built by ``build_graph`` below; the Rust side builds the same ones, with the same
names and the same registration order, because parproc scans procs in registration order):

* ``fanout N``  -- ``t::0`` ... ``t::{N-1}`` with no deps, then ``sink`` depending on all N.
  N+1 procs, target ``sink``.
* ``chain N``   -- ``c::0`` ... ``c::{N-1}``; ``c::i`` depends on ``c::{i-1}`` for i > 0.
  N procs, target ``c::{N-1}``.
* ``lattice N`` -- width W=100, depth D=N/100 (N must be a multiple of 100); ``l::d::w``
  (layer by layer, d outer, w inner) depends for d > 0 on ``l::{d-1}::w`` and
  ``l::{d-1}::{(w+1)%W}``; then ``lsink`` depending on the W nodes of the last layer.
  N+1 procs, target ``lsink``.

Every proc body is a no-op that returns None.

Peers:

* ``parproc-mp`` / ``parproc-single`` -- parproc 0.7.1 from PyPI, installed into a private
  virtual environment (``--venv``, created on first use with ``python3 -m venv`` and
  ``pip install parproc==0.7.1``; reused while parproc 0.7.1 imports there). For each
  (graph, N, mode) a script is generated that registers one plain ``Proc(name, noop, deps=[...])``
  per node in a loop (plain procs with explicit dep names are the most direct 0.7.1 API; protos
  would add pattern matching and argument casting per proc), then ``start(target)`` and
  ``wait_for_all()``. The mode is chosen with 0.7.1's ``set_options(mode='mp'|'single')``
  ('mp' forks one child process per proc, 'single' runs each proc inline in the scheduler's
  thread); both runs use ``parallel=2`` (the benchmark machine has 2 cores; parproc's default is
  100, and in 'single' mode the limit is moot) and ``dynamic=False`` (plain line output, which is
  also what 0.7.1 picks when stdout is not a TTY). The script checks at the end that every proc
  is SUCCEEDED and has a result, and exits non-zero otherwise (reported as status "error").
  Two deviations from a bare script, both needed for the graphs to run at all:
  the recursion limit is raised (0.7.1 schedules deps recursively, one Python frame per chain
  link, and 'single' mode additionally runs each newly unblocked proc from inside the previous
  one's completion, so a 1000-long chain overflows the default limit of 1000), and TMPDIR
  points into the run's work directory (parproc writes one log file per proc into a fresh
  temporary directory that it never deletes).
* ``make`` -- GNU make with a generated Makefile: one ``.PHONY`` target per proc, prerequisites
  = deps, recipe ``@true`` (no shell metacharacters, so make execs ``true`` without a shell); run
  as ``make -s -j2 -f Makefile TARGET``. Make cannot have ``::`` in a target name (it means a
  double-colon rule), so names are spelled with ``.`` instead (``t.0``, ``l.3.17``); the graph is
  unchanged. After a successful run an untimed ``make -n`` dry run counts the recipes make
  schedules for the target; that count is the "procs" field and must equal the graph size.

Output: one JSON object per line on stdout (progress goes to stderr)::

    {"peer": "parproc-mp"|"parproc-single"|"make", "graph": "fanout"|"chain"|"lattice",
     "n": N, "procs": <procs actually run>, "wall_s": float, "peak_rss_kib": int,
     "status": "ok"|"timeout"|"skipped"|"error", "note": "..."}

* ``wall_s`` -- ``time.perf_counter()`` from just before spawning the child to just after it was
  reaped (includes interpreter start-up and parproc's import for the parproc peers, which the
  note splits up, and about a millisecond for GNU time's extra fork/exec).
* ``peak_rss_kib`` -- ``ru_maxrss`` (KiB) of the peer process as seen by a ``wait4`` on it.
  Linux reports the maximum over the process and the descendants it reaped itself (a max, not
  a sum); descendants of descendants are not seen, nor are children it never reaped. For make
  this is make's own RSS (its ``true`` recipes are tiny); for parproc-mp it includes the forked
  workers, which parproc reaps. The peer is started through GNU time (``/usr/bin/time -f %M``)
  when that is installed, because a ``wait4`` by this harness on its own direct child would
  report at least the harness's own peak RSS (see ``run_measured``); GNU time's ``%M`` is that
  same ``wait4`` value, taken one level down by a ~1 MiB process. Without GNU time (or with
  ``--no-gnu-time``) the direct value is reported and the note gives the harness floor.
  ``null`` after a timeout under GNU time (it is killed with the peer).
* ``procs`` -- for parproc, the procs the script saw SUCCEEDED (after a timeout: a lower bound
  read from its output); for make, the dry-run count. 0 when nothing ran or nothing could be
  verified (make timeout, error, skipped).
* ``wall_s`` and ``peak_rss_kib`` are ``null`` when nothing was measured (skipped, make missing,
  venv setup failed, N not valid for the graph).

Timeouts and skips: each run is limited to ``--timeout`` seconds (default 300); the child is
started in a new session and its whole process group is killed with SIGKILL (status
"timeout"). If a peer times out or takes longer than ``--skip-after`` seconds (default 60) on a
graph at some size, its larger sizes of that graph are not run but reported as "skipped", with
the quadratic extrapolation ``t * (N2/N1)**2`` in the note. Quadratic is what parproc 0.7.1
shows in 'single' mode; in 'mp' mode every wait step re-tries each WANTED proc and each try
scans all procs, so a wide graph such as fanout grows closer to cubically and the estimate is
optimistic; for make it is pessimistic.

Runs go by size (ascending), then graph, then peer. Each run gets its own directory
``<workdir>/<peer>-<graph>-<n>`` (script or Makefile, ``run.log`` with the peer's output, and
for parproc ``tmp/`` with its per-proc log files), deleted right after the run unless
``--keep``; the work directory itself is deleted at the end if this script created it.

Flags:
  --sizes 1000,10000,100000     sizes to run (sorted ascending; default as shown)
  --graphs fanout,chain,lattice graphs to run (default all)
  --peers parproc-mp,parproc-single,make   peers to run (default all)
  --timeout 300                 per-run timeout in seconds
  --skip-after 60               skip larger sizes after a run slower than this
  --workdir DIR                 where run directories go (default: a fresh tempfile.mkdtemp())
  --keep                        keep the run directories
  --venv DIR                    parproc virtual environment (default <repo>/.cache/bench-venv)
  --setup-only                  only create/check the venv, run nothing
  --no-gnu-time                 take peak RSS from wait4 on the peer directly (harness floor)

Examples::

    python3 bench/peers.py --sizes 100,1000 --peers parproc-single,make
    python3 bench/peers.py --sizes 1000 --graphs fanout --peers parproc-mp --keep
"""

import argparse
import inspect
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

PEERS = ('parproc-mp', 'parproc-single', 'make')
GRAPHS = ('fanout', 'chain', 'lattice')
DEFAULT_SIZES = (1000, 10000, 100000)
LATTICE_WIDTH = 100
PARPROC_VERSION = '0.7.1'
PARALLEL = 2  # the benchmark machine has 2 cores
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_VENV = os.path.join(REPO_ROOT, '.cache', 'bench-venv')

# Make variables inherited from a calling make would change how the peer make behaves.
MAKE_ENV_VARS = ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEFILES', 'GNUMAKEFLAGS')


def log(msg):
    """Progress goes to stderr; stdout carries only the JSON lines."""
    print(f'[peers] {msg}', file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Graphs. build_graph is also copied verbatim into every generated parproc script, so the two
# peers cannot drift apart.


def build_graph(graph, n):
    """Return (nodes, target): nodes is [(name, [dep names])] in registration order."""
    if graph == 'fanout':
        nodes = [(f't::{i}', []) for i in range(n)]
        nodes.append(('sink', [name for name, _ in nodes]))
        return nodes, 'sink'
    if graph == 'chain':
        nodes = [(f'c::{i}', [f'c::{i - 1}'] if i > 0 else []) for i in range(n)]
        return nodes, f'c::{n - 1}'
    if graph == 'lattice':
        width = LATTICE_WIDTH
        depth = n // width
        nodes = []
        for d in range(depth):
            for w in range(width):
                deps = [f'l::{d - 1}::{w}', f'l::{d - 1}::{(w + 1) % width}'] if d > 0 else []
                nodes.append((f'l::{d}::{w}', deps))
        nodes.append(('lsink', [f'l::{depth - 1}::{w}' for w in range(width)]))
        return nodes, 'lsink'
    raise ValueError(f'unknown graph {graph!r}')


def graph_problem(graph, n):
    """Why (graph, n) cannot be built, or None."""
    if n < 1:
        return 'n must be at least 1'
    if graph == 'lattice' and (n < LATTICE_WIDTH or n % LATTICE_WIDTH):
        return f'lattice n must be a positive multiple of {LATTICE_WIDTH}'
    return None


# --------------------------------------------------------------------------------------------
# Generated files.

PARPROC_SCRIPT = '''\
#!/usr/bin/env python3
"""parproc {version} peer: graph={graph} n={n} mode={mode}. Generated by bench/peers.py.

Usage: python peer.py [SUMMARY_JSON_PATH]   (summary goes to stderr without a path)
"""
import json
import os
import sys
import time

T_START = time.perf_counter()
import parproc as pp  # noqa: E402  (import time is measured)
from parproc.types import ProcState  # noqa: E402

T_IMPORTED = time.perf_counter()

GRAPH = {graph!r}
N = {n!r}
MODE = {mode!r}
PARALLEL = {parallel!r}
LATTICE_WIDTH = {width!r}


{build_graph}

def noop(ctx):
    """Every benchmark proc does nothing and returns None."""
    return None


def main():
    nodes, target = build_graph(GRAPH, N)
    # 0.7.1 schedules deps recursively (one frame per chain link) and, in 'single' mode, runs
    # each newly unblocked proc from inside the previous proc's completion: a long chain needs
    # several frames per proc.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(nodes) + 10000))
    pp.set_options(mode=MODE, parallel=PARALLEL, dynamic=False)
    for name, deps in nodes:
        pp.Proc(name, noop, deps=deps)
    t_declared = time.perf_counter()

    pp.start(target)
    pp.wait_for_all()
    t_done = time.perf_counter()

    # Verify that every proc ran: SUCCEEDED (not skipped, not failed) and a result recorded.
    states = [p.state for p in pp.get_procs().values()]
    summary = {{
        'expected': len(nodes),
        'registered': len(states),
        'succeeded': sum(1 for s in states if s == ProcState.SUCCEEDED),
        'results': len(pp.results()),
        'import_s': T_IMPORTED - T_START,
        'declare_s': t_declared - T_IMPORTED,
        'run_s': t_done - t_declared,
        'open_fds': len(os.listdir('/proc/self/fd')) if os.path.isdir('/proc/self/fd') else None,
    }}
    text = json.dumps(summary)
    if len(sys.argv) > 1:
        with open(sys.argv[1], 'w', encoding='utf-8') as f:
            f.write(text)
    else:
        print(text, file=sys.stderr)
    all_ran = summary['succeeded'] == summary['results'] == summary['registered'] == len(nodes)
    return 0 if all_ran else 3


if __name__ == '__main__':
    sys.exit(main())
'''


def write_parproc_script(path, graph, n, mode):
    source = PARPROC_SCRIPT.format(
        version=PARPROC_VERSION,
        graph=graph,
        n=n,
        mode=mode,
        parallel=PARALLEL,
        width=LATTICE_WIDTH,
        build_graph=inspect.getsource(build_graph),
    )
    with open(path, 'w', encoding='utf-8') as f:
        f.write(source)


def make_name(name):
    """Make reads '::' in a target as a double-colon rule; spell the separator '.' instead."""
    return name.replace('::', '.')


def write_makefile(path, graph, n):
    """Write the Makefile and return the (make-spelled) target."""
    nodes, target = build_graph(graph, n)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(f'# GNU make peer: graph={graph} n={n}. Generated by bench/peers.py.\n')
        for name, deps in nodes:
            name = make_name(name)
            prereqs = ' '.join(make_name(d) for d in deps)
            f.write(f'.PHONY: {name}\n{name}: {prereqs}\n\t@true\n')
    return make_name(target)


# --------------------------------------------------------------------------------------------
# Running one child: wall time, peak RSS, timeout.


class ChildRun:
    """Outcome of one measured child process."""

    def __init__(self, wall_s, peak_rss_kib, rss_note, exit_code, timed_out):
        self.wall_s = wall_s
        self.peak_rss_kib = peak_rss_kib  # None when unknown
        self.rss_note = rss_note  # how peak_rss_kib was obtained, for the row's note
        self.exit_code = exit_code  # negative: killed by that signal (subprocess convention)
        self.timed_out = timed_out


def find_gnu_time():
    """Path of GNU time (the binary, not the shell keyword), or None."""
    path = shutil.which('time')
    if path is None:
        return None
    try:
        out = subprocess.run([path, '--version'], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return path if 'GNU' in out.stdout + out.stderr else None


def kill_group(pgid):
    """SIGKILL a whole process group; fine if it is already gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def read_gnu_time_rss(path):
    """GNU time's %M output (KiB); the value is the last line, after any 'Command exited' line."""
    try:
        with open(path, encoding='utf-8') as f:
            lines = [line.strip() for line in f if line.strip()]
        return int(lines[-1])
    except (OSError, ValueError, IndexError):
        return None


def run_measured(argv, cwd, env, log_path, timeout, gnu_time):
    """Run argv with stdout+stderr to log_path; kill its process group after timeout seconds.

    Peak RSS: ru_maxrss from wait4 on the process we fork. Linux carries the forking parent's
    peak RSS into that number (exec records the high-water mark of the memory image it
    replaces, which for a child forked from this harness is a copy of the harness), so a peer
    smaller than the harness would be reported at the harness's size. When GNU time is
    available the peer is therefore started through it: GNU time is a tiny process that forks
    the peer itself and reports ru_maxrss from its own wait4 on the peer (``%M``), whose floor
    is GNU time's ~1 MiB. Without it, the direct wait4 value is used and the note gives the
    harness floor.
    """
    rss_path = log_path + '.rss'
    if gnu_time:
        argv = [gnu_time, '-f', '%M', '-o', rss_path, *argv]
    floor_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(log_path, 'wb') as out:
        start = time.perf_counter()
        child = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group (pgid == pid), so the kill reaches workers
        )
        fired = threading.Event()

        def on_timeout():
            fired.set()
            kill_group(child.pid)

        timer = threading.Timer(timeout, on_timeout)
        timer.daemon = True
        timer.start()
        try:
            # Reap the child ourselves: wait4 is the only way to get its rusage.
            _, status, usage = os.wait4(child.pid, 0)
        except BaseException:  # e.g. Ctrl-C: do not leave the benchmark running
            kill_group(child.pid)
            os.wait4(child.pid, 0)
            raise
        finally:
            timer.cancel()
        wall_s = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from reaping again
    kill_group(child.pid)  # any worker the child left behind
    timed_out = fired.is_set() and child.returncode == -signal.SIGKILL
    if gnu_time:
        # Killed together with the peer on a timeout, GNU time writes nothing: RSS unknown.
        rss = None if timed_out else read_gnu_time_rss(rss_path)
        rss_note = 'rss via GNU time %M'
    else:
        rss = usage.ru_maxrss
        rss_note = f'rss via wait4, floored at the harness peak of {floor_kib} KiB (not through GNU time)'
    return ChildRun(wall_s, rss, rss_note, child.returncode, timed_out)


def log_tail(path, limit=600):
    """The last bytes of a run log, on one line, for an error note."""
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        return ''
    return ' | '.join(line.strip() for line in text.strip().splitlines() if line.strip())


# --------------------------------------------------------------------------------------------
# Peers. Each returns a row dict (without peer/graph/n, added by the caller).


def row(status, note, procs=0, run=None):
    """One output row; a measured run adds its numbers and how the RSS was obtained."""
    if run is not None:
        note = f'{note}; {run.rss_note}'
    return {
        'procs': procs,
        'wall_s': round(run.wall_s, 4) if run else None,
        'peak_rss_kib': run.peak_rss_kib if run else None,
        'status': status,
        'note': note,
    }


def run_parproc(python, mode, graph, n, run_dir, args):
    script = os.path.join(run_dir, 'peer.py')
    summary_path = os.path.join(run_dir, 'summary.json')
    log_path = os.path.join(run_dir, 'run.log')
    tmp = os.path.join(run_dir, 'tmp')
    os.makedirs(tmp)
    write_parproc_script(script, graph, n, mode)
    env = dict(os.environ, TMPDIR=tmp)  # parproc's per-proc log files land here
    argv = [python, script, summary_path]
    run = run_measured(argv, run_dir, env, log_path, args.timeout, args.gnu_time)
    # RSS is the max over the script and the children it reaped (mp: one forked worker per proc).
    setting = f'mode={mode} parallel={PARALLEL}'
    if run.timed_out:
        done = count_finished_lines(log_path)
        note = f'{setting}; killed after {args.timeout:g}s; at least {done} procs had finished'
        return row('timeout', note, done, run)
    try:
        with open(summary_path, encoding='utf-8') as f:
            summary = json.load(f)
    except (OSError, ValueError):
        summary = None
    if summary is None:
        note = f'{setting}; exit {run.exit_code}, no summary; log: {log_tail(log_path)}'
        return row('error', note, run=run)
    note = (
        f'{setting}; import {summary["import_s"]:.2f}s, declare {summary["declare_s"]:.2f}s, '
        f'run {summary["run_s"]:.2f}s; open fds at end {summary["open_fds"]}'
    )
    if run.exit_code != 0:
        counts = {k: summary[k] for k in ('expected', 'registered', 'succeeded', 'results')}
        note = f'{note}; exit {run.exit_code}; not all procs ran: {counts}'
        return row('error', note, summary['succeeded'], run)
    return row('ok', note, summary['succeeded'], run)


def count_finished_lines(log_path):
    """Procs a killed parproc script had reported done: its '✓ name' lines (static output).

    A lower bound: the script's stdout is a file, so its last block of output was still
    buffered when it was killed.
    """
    try:
        with open(log_path, 'rb') as f:
            return sum(1 for line in f if line.startswith('✓ '.encode()))
    except OSError:
        return 0


def make_env():
    return {k: v for k, v in os.environ.items() if k not in MAKE_ENV_VARS}


def check_make():
    """None if GNU make runs, else the reason."""
    try:
        out = subprocess.run(['make', '--version'], capture_output=True, text=True, check=False).stdout
    except OSError:
        return 'GNU make not installed'
    if 'GNU Make' not in out:
        return 'GNU make not installed'
    return None


def run_make(graph, n, run_dir, args):
    makefile = os.path.join(run_dir, 'Makefile')
    log_path = os.path.join(run_dir, 'run.log')
    target = write_makefile(makefile, graph, n)
    env = make_env()
    argv = ['make', '-s', f'-j{PARALLEL}', '-f', makefile, target]
    run = run_measured(argv, run_dir, env, log_path, args.timeout, args.gnu_time)
    # RSS is make's own: the max over make and its reaped `true` recipes, which are tiny.
    setting = f'make -j{PARALLEL}; rss is make\'s own'
    if run.timed_out:
        return row('timeout', f'{setting}; killed after {args.timeout:g}s', run=run)
    if run.exit_code != 0:
        return row('error', f'{setting}; exit {run.exit_code}; log: {log_tail(log_path)}', run=run)
    # Untimed check: how many recipes does make schedule for the target? (-n prints @-recipes too)
    dry = subprocess.run(
        ['make', '-n', '-s', '-f', makefile, target], cwd=run_dir, env=env,
        capture_output=True, text=True, check=False,
    )
    recipes = sum(1 for line in dry.stdout.splitlines() if line.strip() == 'true')
    expected = len(build_graph(graph, n)[0])
    if dry.returncode != 0 or recipes != expected:
        note = f'{setting}; dry run (make -n) listed {recipes} recipes, expected {expected}'
        return row('error', note, recipes, run)
    return row('ok', f'{setting}; {recipes} recipes (counted by an untimed make -n)', recipes, run)


# --------------------------------------------------------------------------------------------
# The parproc virtual environment.


def venv_python(venv):
    return os.path.join(venv, 'bin', 'python')


def parproc_ready(python):
    """Is parproc 0.7.1 importable with this interpreter?"""
    if not os.path.exists(python):
        return False
    probe = 'import importlib.metadata as m, parproc; print(m.version("parproc"))'
    result = subprocess.run([python, '-c', probe], capture_output=True, text=True, check=False)
    return result.returncode == 0 and result.stdout.strip() == PARPROC_VERSION


def ensure_venv(venv):
    """Create the venv and install parproc 0.7.1 unless that is already done. Returns its python.

    Raises RuntimeError with the reason when setup fails. Tool output goes to stderr.
    """
    python = venv_python(venv)
    if parproc_ready(python):
        log(f'reusing {venv} (parproc {PARPROC_VERSION})')
        return python
    if not os.path.exists(python):
        log(f'creating virtual environment {venv}')
        subprocess.run([sys.executable, '-m', 'venv', venv], stdout=sys.stderr, check=True)
    log(f'installing parproc=={PARPROC_VERSION} into {venv}')
    subprocess.run(
        [python, '-m', 'pip', 'install', '--disable-pip-version-check', f'parproc=={PARPROC_VERSION}'],
        stdout=sys.stderr, check=True,
    )
    if not parproc_ready(python):
        raise RuntimeError(f'parproc {PARPROC_VERSION} is still not importable in {venv}')
    return python


# --------------------------------------------------------------------------------------------
# Driver.


def csv_list(kind, choices=None, convert=str):
    """An argparse type for a comma-separated list, optionally restricted to choices."""

    def parse(text):
        items = [convert(item.strip()) for item in text.split(',') if item.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f'no {kind} given')
        bad = [str(item) for item in items if choices is not None and item not in choices]
        if bad:
            allowed = ', '.join(choices)
            raise argparse.ArgumentTypeError(f'unknown {kind}: {", ".join(bad)} (choose from {allowed})')
        return items

    return parse


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n', 1)[0], epilog='The module docstring has the details.',
    )
    parser.add_argument('--sizes', type=csv_list('size', convert=int), default=list(DEFAULT_SIZES),
                        help=f'comma-separated N values (default: {",".join(map(str, DEFAULT_SIZES))})')
    parser.add_argument('--graphs', type=csv_list('graph', GRAPHS), default=list(GRAPHS),
                        help=f'comma-separated subset of {",".join(GRAPHS)} (default: all)')
    parser.add_argument('--peers', type=csv_list('peer', PEERS), default=list(PEERS),
                        help=f'comma-separated subset of {",".join(PEERS)} (default: all)')
    parser.add_argument('--timeout', type=float, default=300.0,
                        help='per-run timeout in seconds (default: 300)')
    parser.add_argument('--skip-after', type=float, default=60.0,
                        help='skip larger sizes of a peer+graph after a run slower than this (default: 60 s)')
    parser.add_argument('--workdir', help='where run directories go (default: a fresh temp dir)')
    parser.add_argument('--keep', action='store_true', help='keep the run directories')
    parser.add_argument('--venv', default=DEFAULT_VENV,
                        help='parproc virtual environment (default: %(default)s)')
    parser.add_argument('--setup-only', action='store_true', help='only create or check the venv')
    parser.add_argument('--no-gnu-time', action='store_true',
                        help='read peak RSS from wait4 on the peer directly, not through GNU time')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    args.gnu_time = None if args.no_gnu_time else find_gnu_time()
    if args.gnu_time is None:
        log('peak RSS via wait4 on the peer itself: it includes this harness\'s own peak (see run_measured)')

    # Peer set-up problems become "error" rows rather than aborting the other peers.
    unavailable = {}
    python = None
    if any(p.startswith('parproc-') for p in args.peers) or args.setup_only:
        try:
            python = ensure_venv(args.venv)
        except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
            if args.setup_only:
                log(f'venv setup failed: {e}')
                return 1
            unavailable['parproc-mp'] = unavailable['parproc-single'] = f'venv setup failed: {e}'
    if args.setup_only:
        return 0
    if 'make' in args.peers:
        problem = check_make()
        if problem:
            unavailable['make'] = problem

    created_workdir = args.workdir is None or not os.path.exists(args.workdir)
    if args.workdir is None:
        workdir = tempfile.mkdtemp(prefix='peers-')
    else:
        workdir = os.path.abspath(args.workdir)
        os.makedirs(workdir, exist_ok=True)
    log(f'work directory {workdir}')

    slow = {}  # (peer, graph) -> (n, wall_s, how) of the first run that triggers the skip rule
    try:
        for n in sorted(set(args.sizes)):
            for graph in args.graphs:
                for peer in args.peers:
                    result = measure(peer, graph, n, args, python, unavailable, slow, workdir)
                    print(json.dumps({'peer': peer, 'graph': graph, 'n': n, **result}), flush=True)
    finally:
        if args.keep:
            log(f'kept {workdir}')
        elif created_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def measure(peer, graph, n, args, python, unavailable, slow, workdir):
    """Run (or skip) one peer on one graph size and return its row."""
    if peer in unavailable:
        return row('error', unavailable[peer])
    problem = graph_problem(graph, n)
    if problem:
        return row('error', problem)
    key = (peer, graph)
    if key in slow:
        n1, t1, how = slow[key]
        estimate = t1 * (n / n1) ** 2
        bound = 'at least ' if how == 'timed out' else ''  # a timed-out run only bounds t from below
        note = f'{how} at n={n1} ({t1:.1f}s); quadratic estimate t*(N2/N1)^2 = {bound}{estimate:.0f}s'
        return row('skipped', note)

    run_dir = os.path.join(workdir, f'{peer}-{graph}-{n}')
    if os.path.exists(run_dir):
        shutil.rmtree(run_dir)
    os.makedirs(run_dir)
    log(f'{peer} {graph} n={n} ...')
    try:
        if peer == 'make':
            result = run_make(graph, n, run_dir, args)
        else:
            mode = peer.split('-', 1)[1]  # 'mp' or 'single'
            result = run_parproc(python, mode, graph, n, run_dir, args)
    finally:
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)  # may hold a log file per proc
    log(f'{peer} {graph} n={n}: {result["status"]} in {result["wall_s"]}s')

    if result['status'] == 'timeout':
        slow[key] = (n, result['wall_s'], 'timed out')
    elif result['wall_s'] is not None and result['wall_s'] > args.skip_after:
        slow[key] = (n, result['wall_s'], f'took more than {args.skip_after:g}s')
    return result


if __name__ == '__main__':
    sys.exit(main())
