// Test fixture for host/tests/all/polyglot.rs: protos, choices, globs, computed deps,
// rdeps, NO_FAILURES and context calls through the JavaScript SDK. protos.py is the same
// module in Python; both must give the same results.

import * as pp from 'parproc';

const ENVS = ['dev', 'staging', 'prod'];

pp.proc({ name: 'setup' }, (ctx) => ({ release: ctx.params.release }));

pp.proc({ name: 'prepare', rdeps: [pp.whenTargetScheduled('build::[env]')] }, () => 'ready');

pp.proto({ name: 'build::[env]', deps: ['setup'], argChoices: { env: ENVS } }, (ctx, { env }) => {
  const { release } = ctx.results.setup;
  return { env, artifact: `app-${release}-${env}.tar`, prepared: ctx.results.prepare ?? null };
});

pp.proto({ name: 'lint::[env]' }, (ctx, { env }) => `linted ${env}`);

pp.proto(
  {
    name: 'test::[env]::[shards]',
    deps: ['build::[env]', (ctx) => `lint::${ctx.args.env}`],
    argChoices: { env: () => ENVS, shards: [1, 2] },
    types: { shards: 'integer' },
  },
  (ctx, { env, shards }) => {
    if (typeof shards !== 'number') throw new pp.ProcFailedError(`shards is a ${typeof shards}`);
    return {
      env,
      shards,
      artifact: ctx.results[`build::${env}`].artifact,
      lint: ctx.results[`lint::${env}`],
    };
  },
);

pp.proto({ name: 'child::[n]', types: { n: 'integer' } }, (ctx, { n }) => n * n);

pp.proc({ name: 'fanout' }, (ctx) => {
  const builds = ctx.create('build::*');
  ctx.start(...builds);
  ctx.wait(...builds);
  const children = [];
  for (const n of [1, 2, 3]) children.push(...ctx.run('child::[n]', { n }));
  ctx.wait(children);
  return {
    artifacts: builds.map((b) => ctx.results[b].artifact).sort(),
    children: children.map((c) => ctx.results[c]),
    proc_name: ctx.procName,
  };
});

pp.proc({ name: 'crash' }, () => {
  throw new RangeError('bad value');
});

pp.proc({ name: 'after_crash', deps: ['crash'] }, () => 'never');

pp.proc({ name: 'summary', deps: [pp.NO_FAILURES] }, () => 'never');

pp.setParams({ release: '1.2.3' });
pp.run('test::*::2');
pp.run('fanout');
pp.start('after_crash', 'summary');
pp.waitForAll();
