// Checks of the JavaScript SDK's declarations that need no component (run by
// host/tests/all/sdk_incremental.rs with `node`): the incremental options of
// parproc:jobs@0.2.0 as `declarations.describe` returns them, `resolveInputs`, and the errors
// a bad declaration throws while the module is evaluated (at build time). The host import
// `parproc:jobs/context@0.2.0` is replaced by an empty module. Prints `ok` when every check
// passes.

import assert from 'node:assert/strict';
import { register } from 'node:module';

const hooks = `
export async function resolve(specifier, context, next) {
  if (specifier === 'parproc:jobs/context@0.2.0') {
    return { url: 'data:text/javascript,export {}', shortCircuit: true };
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

const sdk = new URL('../../guest-sdk/js/src/', import.meta.url);
const pp = await import(new URL('index.js', sdk));
const { declarations } = await import(new URL('exports.js', sdk));

function throws(fn, ...words) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof pp.UserError, `not a UserError: ${e}`);
    for (const w of words) assert.ok(e.message.includes(w), `${JSON.stringify(w)} not in ${e.message}`);
    return true;
  });
}

// regexFiles: the regex is checked at once.
throws(() => pp.regexFiles('/src', '('), 'regex', "'('");
throws(() => pp.regexFiles('src', '.*'), 'absolute', "'src'");
throws(() => pp.regexFiles('/src', 3), 'regexFiles pattern');

// output: maxAge as the text the host parses.
for (const [given, text] of [
  [undefined, undefined],
  ['1h', '1h'],
  ['1 minutes', '1 minutes'],
  [3600, '3600'],
  [0.5, '0.5'],
  [1e-7, '0.0000001'],
  [-1, '-1'], // the host refuses it with parproc's message
]) {
  assert.equal(pp.output('/out/a', { maxAge: given }).maxAge, text, `maxAge ${given}`);
}
throws(() => pp.output('/out/a', { maxAge: true }), 'maxAge');
throws(() => pp.output('/out/a', { max_age: 1 }), 'max_age', 'did you mean `maxAge`');
throws(() => pp.output('out/a'), 'absolute');

// proc and proto options, as describe() sends them.
pp.proc(
  {
    name: 'full',
    inputs: ['/src/*.js', pp.regexFiles('/src', '.*\\.js$'), (ctx, args) => [`/x/${ctx.procName}`]],
    inputsIgnore: ['*.tmp', '/src/gen'],
    outputs: [
      '/out/a',
      pp.output('/out/b', { maxAge: '1h', enforceFreshness: false }),
      { path: '/out/c', maxAge: 90 },
    ],
    noSkip: true,
  },
  () => null,
);
pp.proto({ name: 'one::[x]', inputs: '/src/[x].c', outputs: '/out/[x].o' }, () => null);
pp.proc({ name: 'computed_str', inputs: () => '/one' }, () => null);
pp.proc({ name: 'computed_bad', inputs: [() => 3] }, () => null);

throws(() => pp.proc({ name: 'bad', inputs: ['src/a.js'] }, () => null), 'absolute', 'src/a.js');
throws(() => pp.proc({ name: 'bad', inputs: [3] }, () => null), 'inputs', 'number');
throws(() => pp.proc({ name: 'bad', outputs: [3] }, () => null), 'outputs', 'number');
throws(() => pp.proc({ name: 'bad', outputs: [{ path: '/a', max_age: 1 }] }, () => null), 'did you mean `maxAge`');
throws(() => pp.proc({ name: 'bad', inputsIgnore: ['rel'] }, () => null), 'absolute');
throws(() => pp.proc({ name: 'bad', no_skip: true }, () => null), 'did you mean `noSkip`');
throws(() => pp.proc({ name: 'bad', inputs_ignore: [] }, () => null), 'did you mean `inputsIgnore`');

// Run options: taskDbPath only asks (the path is ignored); globalInputsIgnore is checked.
let m = declarations.describe();
assert.equal(m.options.taskDb, undefined);
assert.deepEqual(m.options.inputsIgnore, []);
pp.setOptions({ taskDbPath: '/some/where.db', globalInputsIgnore: ['*.map', '/src/build'] });
throws(() => pp.setOptions({ globalInputsIgnore: ['rel'] }), 'absolute');
throws(() => pp.setOptions({ task_db_path: 'x' }), 'did you mean `taskDbPath`');

m = declarations.describe();
assert.equal(m.options.taskDb, true);
assert.deepEqual(m.options.inputsIgnore, ['*.map', '/src/build']);
const decl = (name) => m.jobs.find((j) => j.name === name);
assert.deepEqual(decl('full').incremental, {
  inputs: [
    { tag: 'path', val: '/src/*.js' },
    { tag: 'regex-files', val: { root: '/src', pattern: '.*\\.js$' } },
    { tag: 'computed' },
  ],
  inputsIgnore: ['*.tmp', '/src/gen'],
  outputs: [
    { path: '/out/a', maxAge: undefined, enforceFreshness: true },
    { path: '/out/b', maxAge: '1h', enforceFreshness: false },
    { path: '/out/c', maxAge: '90', enforceFreshness: true },
  ],
  noSkip: true,
});
assert.deepEqual(decl('one::[x]').incremental, {
  inputs: [{ tag: 'path', val: '/src/[x].c' }],
  inputsIgnore: [],
  outputs: [{ path: '/out/[x].o', maxAge: undefined, enforceFreshness: true }],
  noSkip: false,
});

// resolveInputs: the computed input at an index, called like a computed dep.
const ctx = { procName: 'full', args: [['x', '1']], params: [] };
assert.deepEqual(declarations.resolveInputs('full', 2, ctx), ['/x/full']);
assert.deepEqual(declarations.resolveInputs('computed_str', 0, ctx), ['/one']);
assert.throws(() => declarations.resolveInputs('full', 0, ctx), (e) => e === 'input 0 of "full" is not a computed input');
assert.throws(() => declarations.resolveInputs('full', 7, ctx), (e) => e === 'input 7 of "full" is not a computed input');
assert.throws(
  () => declarations.resolveInputs('computed_bad', 0, ctx),
  (e) => e === 'Callable input must return str or list[str], got number',
);

pp.setOptions({ taskDb: false });
assert.equal(declarations.describe().options.taskDb, false);

console.log('ok');
