"""Checks of the Python SDK's declaration layer that need no component (run by
host/tests/all/sdk_incremental.rs with `PYTHONPATH=guest-sdk/python python3`): the incremental
options of parproc:jobs@0.2.0 as the SDK records them, and the errors a bad declaration raises
while the job script is imported (at build time). Prints `ok` when every check passes."""

import datetime

import parproc as pp
from parproc_guest._decl import REGISTRY


def raises(exc, fn, *words):
    try:
        fn()
    except exc as e:
        for w in words:
            assert w in str(e), f"{w!r} not in {e!r}"
        return str(e)
    raise AssertionError(f"{fn} did not raise {exc.__name__}")


# regex_files: the regex is checked at once.
rf = pp.regex_files('/src', r'.*\.py$')
assert (rf.root, rf.pattern) == ('/src', r'.*\.py$')
raises(pp.UserError, lambda: pp.regex_files('/src', '('), 'regex', "'('")
raises(pp.UserError, lambda: pp.regex_files('src', '.*'), 'absolute', "'src'")
raises(pp.UserError, lambda: pp.regex_files('/src', 3), 'regex_files pattern')

# Output: max_age as the text the host parses.
for given, text in [
    (None, None),
    ('1h', '1h'),
    ('1 minutes', '1 minutes'),
    (' 4 S ', ' 4 S '),
    (3600, '3600'),
    (0, '0'),
    (0.5, '0.5'),
    (2.0, '2'),
    (1e-7, '0.0000001'),
    (-1, '-1'),  # the host refuses it with parproc's message
    (datetime.timedelta(hours=1), '3600'),
    (datetime.timedelta(milliseconds=1500), '1.5'),
]:
    got = pp.Output('/out/a', max_age=given).max_age_text
    assert got == text, (given, got, text)
o = pp.Output('/out/a')
assert (o.path, o.max_age_text, o.enforce_freshness) == ('/out/a', None, True)
assert pp.Output('/out/a', enforce_freshness=False).enforce_freshness is False
raises(pp.UserError, lambda: pp.Output('/out/a', max_age=True), 'max_age')
raises(pp.UserError, lambda: pp.Output('/out/a', max_age=[1]), 'max_age', 'list')
raises(pp.UserError, lambda: pp.Output('out/a'), 'absolute')


# Proc and Proto options.
def job(name):
    return REGISTRY.jobs[name]


@pp.Proc(inputs=['/src/*.py', rf, lambda ctx: ['/x']], inputs_ignore=['*.tmp', '/src/gen'],
         outputs=['/out/a', pp.Output('/out/b', max_age='1h', enforce_freshness=False)],
         no_skip=True)
def full(context):
    pass


j = job('full')
assert j.inputs[0] == '/src/*.py' and j.inputs[1] is rf and callable(j.inputs[2])
assert j.inputs_ignore == ['*.tmp', '/src/gen']
assert [(o.path, o.max_age_text, o.enforce_freshness) for o in j.outputs] == [
    ('/out/a', None, True), ('/out/b', '1h', False)]
assert j.no_skip is True


@pp.Proto(name='one::[x]', inputs='/src/[x].c', outputs='/out/[x].o')
def one(context, x):
    pass


j = job('one::[x]')
assert j.inputs == ['/src/[x].c'] and [o.path for o in j.outputs] == ['/out/[x].o']
assert j.inputs_ignore == [] and j.no_skip is False


@pp.Proc(track_imports=True)
def tracked(context):
    pass


assert job('tracked').inputs == []

raises(pp.UserError, lambda: pp.Proc(name='bad', inputs=['src/a.py']), 'absolute', 'src/a.py')
raises(pp.UserError, lambda: pp.Proc(name='bad', inputs=[3]), 'inputs', 'int')
raises(pp.UserError, lambda: pp.Proc(name='bad', inputs={'a': 1}), 'inputs must be a list')
raises(pp.UserError, lambda: pp.Proc(name='bad', outputs=[3]), 'outputs', 'int')
raises(pp.UserError, lambda: pp.Proc(name='bad', outputs=['rel']), 'absolute')
raises(pp.UserError, lambda: pp.Proc(name='bad', inputs_ignore=['rel']), 'absolute')
raises(pp.UserError, lambda: pp.Proto(name='bad::[x]', inputs_ignore=[1]), 'inputs_ignore')
raises(TypeError, lambda: pp.Proc(name='bad', input=['/a']), "'input'")

# Run options: task_db_path only asks (the path is ignored), global_inputs_ignore is checked.
pp.set_options(task_db_path='/some/where.db', global_inputs_ignore=['*.pyc', '/src/build'])
assert REGISTRY.options['task_db_path'] == '/some/where.db'
assert REGISTRY.options['global_inputs_ignore'] == ['*.pyc', '/src/build']
raises(pp.UserError, lambda: pp.set_options(global_inputs_ignore=['rel']), 'absolute')
pp.set_options(track_python_imports=True, python_import_roots=['/x'], watch=False)

print('ok')
