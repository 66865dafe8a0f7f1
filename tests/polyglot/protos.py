"""Test fixture for host/tests/all/polyglot.rs: protos, choices, globs, computed deps,
rdeps, NO_FAILURES and context calls through the Python SDK. protos.js is the same module
in JavaScript; both must give the same results."""

import parproc as pp

ENVS = ['dev', 'staging', 'prod']


@pp.Proc()
def setup(context):
    return {'release': context.params['release']}


@pp.Proc(rdeps=[pp.WhenTargetScheduled('build::[env]')])
def prepare(context):
    return 'ready'


@pp.Proto(name='build::[env]', deps=['setup'], arg_choices={'env': ENVS})
def build(context, env: str):
    release = context.results['setup']['release']
    return {'env': env, 'artifact': f'app-{release}-{env}.tar',
            'prepared': context.results.get('prepare')}


@pp.Proto(name='lint::[env]')
def lint(context, env):
    return f'linted {env}'


@pp.Proto(
    name='test::[env]::[shards]',
    deps=['build::[env]', lambda ctx, env: f'lint::{env}'],
    arg_choices={'env': lambda ctx: ENVS, 'shards': [1, 2]},
)
def test(context, env: str, shards: int):
    if not isinstance(shards, int):
        raise pp.ProcFailedError(f'shards is a {type(shards).__name__}')
    return {'env': env, 'shards': shards,
            'artifact': context.results[f'build::{env}']['artifact'],
            'lint': context.results[f'lint::{env}']}


@pp.Proto(name='child::[n]')
def child(context, n: int):
    return n * n


@pp.Proc()
def fanout(context):
    builds = context.create('build::*')
    context.start(*builds)
    context.wait(*builds)
    children = []
    for i in (1, 2, 3):
        children += context.run('child::[n]', n=i)
    context.wait(children)
    return {'artifacts': sorted(context.results[b]['artifact'] for b in builds),
            'children': [context.results[c] for c in children],
            'proc_name': context.proc_name}


@pp.Proc()
def crash(context):
    raise ValueError('bad value')


@pp.Proc(deps=['crash'])
def after_crash(context):
    return 'never'


@pp.Proc(deps=[pp.NO_FAILURES])
def summary(context):
    return 'never'


pp.set_params(release='1.2.3')
pp.run('test::*::2')
pp.run('fanout')
pp.start('after_crash', 'summary')
pp.wait_for_all()
