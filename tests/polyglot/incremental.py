"""Test fixture for host/tests/all/sdk_incremental.rs: the incremental options of
parproc:jobs@0.2.0 through the Python SDK (parproc's S-INC and S-OUT scenarios, as
tests/programs/sc_incremental declares them in Rust). Declared inputs (paths, globs,
`[param]`s, `regex_files`, callables), `inputs_ignore` and `global_inputs_ignore`, outputs
with `max_age` in every accepted form and `enforce_freshness`, `no_skip`, `task_db_path`,
and a proc that waits for a restored (UP_TO_DATE) proc. Everything lives in the granted
directory `/t`. incremental.js is the same module in JavaScript."""

import datetime
import os
import time

import parproc as pp

T = pp.Needs(dirs_rw=['/t'])
T_RO = pp.Needs(dirs=['/t'])


def write(path, text):
    # Through `os.open`; `written_with_open` writes with `open(path, 'w')` (which also stats
    # the file it opened), and both are remembered.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def backdate(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


@pp.Proc(needs=T, inputs=['/t/src.txt'])
def build(context):
    """S-INC-01…04: declares /t/src.txt without reading it."""
    write('/t/_ran', '1')
    return 'built'


@pp.Proc(needs=T, no_skip=True)
def deploy(context):
    """S-INC-05: always runs."""
    return 'deployed'


@pp.Proc()
def plain(context):
    """S-INC-06: declares nothing."""
    return 'plain'


@pp.Proc(no_skip=True)
def waiter(context):
    """Waits for `plain`, which a second run restores (UP_TO_DATE counts as a success)."""
    context.wait('plain')
    return context.results['plain']


@pp.Proto(name='computed::[target]', needs=T_RO,
          inputs=[lambda ctx, target: [f'/t/src_{target}.txt']])
def computed(context, target):
    """S-INC-13: a callable input (resolve-inputs) naming /t/src_<target>.txt."""
    return f'built_{target}'


@pp.Proto(name='filled::[target]', needs=T_RO, inputs=['/t/src_[target].txt'])
def filled(context, target):
    """S-INC-13, with the input's placeholder filled by the host."""
    return f'built_{target}'


@pp.Proc(needs=T_RO, inputs=lambda ctx: '/t/one.txt')
def computed_one(context):
    """A callable given alone (not in a list) returning one str."""
    return 'one'


@pp.Proc(needs=T_RO, inputs=['/t/src.txt', lambda ctx: 3])
def computed_bad(context):
    """A callable input returning neither a str nor a list: the proc fails."""
    return 'never'


@pp.Proc(needs=T_RO, inputs=[pp.regex_files('/t/sub', r'.*\.py$')])
def regex_build(context):
    """S-INC-15: the .py files below /t/sub."""
    return 'built'


@pp.Proc(needs=T_RO, inputs=[pp.regex_files('/t/not_a_dir', '.*')])
def regex_bad(context):
    """S-INC-16: a regex_files root that is not a directory."""
    return 'never'


@pp.Proc(needs=T_RO, inputs=['/t/g/**/*.txt'], inputs_ignore=['*.tmp.txt'])
def globbed(context):
    """Every .txt below /t/g but *.tmp.txt."""
    return 'globbed'


@pp.Proc(needs=T_RO, inputs=['/t/h/*.txt'])
def global_ignored(context):
    """Every .txt in /t/h but the module's global_inputs_ignore (*.skip.txt)."""
    return 'global'


@pp.Proc(needs=T, outputs=['/t/with_open.txt'])
def written_with_open(context):
    """An output written the usual way, with `open`."""
    with open('/t/with_open.txt', 'w') as f:
        f.write('written')
    return 'written'


@pp.Proc(needs=T, outputs=['/t/missing_output.txt'])
def out_missing(context):
    """S-OUT-01: declares an output it never writes."""
    return 'built'


@pp.Proc(needs=T, outputs='/t/output.txt')
def out_created(context):
    """S-OUT-02: writes its output (a single str, not a list)."""
    write('/t/output.txt', 'out')
    return 'built'


@pp.Proc(needs=T, inputs=['/t/src.txt'],
         outputs=[pp.Output('/t/aged.txt', max_age=datetime.timedelta(hours=1))])
def out_aged(context):
    """S-OUT-03: an output that must be younger than an hour (a timedelta)."""
    write('/t/aged.txt', 'aged')
    return 'built'


@pp.Proc(needs=T, outputs=[pp.Output('/t/old.txt', max_age=1)])
def out_backdated(context):
    """S-OUT-04: writes its output, then makes it an hour old (max_age in int seconds)."""
    write('/t/old.txt', 'old')
    backdate('/t/old.txt', 3600)
    return 'built'


@pp.Proc(needs=T, outputs=[pp.Output('/t/half.txt', max_age=0.5)])
def out_half(context):
    """S-OUT-04 again, max_age in float seconds."""
    write('/t/half.txt', 'half')
    backdate('/t/half.txt', 3600)
    return 'built'


@pp.Proc(needs=T, outputs=[pp.Output('/t/words.txt', max_age='1 minutes')])
def out_words(context):
    """S-OUT-05: max_age in words."""
    write('/t/words.txt', 'words')
    return 'built'


@pp.Proc(needs=T, outputs=[pp.Output('/t/lenient.txt', max_age='1s', enforce_freshness=False)])
def out_lenient(context):
    """S-OUT-06: an hour-old output without the post-run freshness check."""
    write('/t/lenient.txt', 'lenient')
    backdate('/t/lenient.txt', 3600)
    return 'built'


@pp.Proc(needs=T, outputs=[pp.Output('/t/missing_lenient.txt', enforce_freshness=False)])
def out_lenient_missing(context):
    """S-OUT-07: existence is still required without the freshness check."""
    return 'built'


pp.set_options(task_db_path='/never/used.db', global_inputs_ignore=['*.skip.txt'])
