// Test fixture for host/tests/all/sdk_incremental.rs: the incremental options of
// parproc:jobs@0.2.0 through the JavaScript SDK; incremental.py is the same module in Python
// and both must declare the same. A JavaScript proc has no file API, so the files the Python
// procs write (outputs, `/t/_ran`) are made by the test before the run here.

import * as pp from 'parproc';

const T = { dirsRw: ['/t'] };
const T_RO = { dirs: ['/t'] };

// S-INC-01…04: declares /t/src.txt without reading it.
pp.proc({ name: 'build', needs: T, inputs: ['/t/src.txt'] }, () => 'built');

// S-INC-05: always runs.
pp.proc({ name: 'deploy', needs: T, noSkip: true }, () => 'deployed');

// S-INC-06: declares nothing.
pp.proc({ name: 'plain' }, () => 'plain');

// Waits for `plain`, which a second run restores: its state is `up-to-date`.
pp.proc({ name: 'waiter', noSkip: true }, (ctx) => {
  const [status] = ctx.wait('plain');
  return { plain: ctx.results.plain, state: status.state };
});

// S-INC-13: a computed input (resolve-inputs) naming /t/src_<target>.txt.
pp.proto(
  { name: 'computed::[target]', needs: T_RO, inputs: [(ctx, { target }) => [`/t/src_${target}.txt`]] },
  (ctx, { target }) => `built_${target}`,
);

// S-INC-13, with the input's placeholder filled by the host.
pp.proto(
  { name: 'filled::[target]', needs: T_RO, inputs: ['/t/src_[target].txt'] },
  (ctx, { target }) => `built_${target}`,
);

// A computed input given alone (not in a list) returning one string.
pp.proc({ name: 'computed_one', needs: T_RO, inputs: () => '/t/one.txt' }, () => 'one');

// A computed input returning neither a string nor a list: the proc fails.
pp.proc({ name: 'computed_bad', needs: T_RO, inputs: ['/t/src.txt', () => 3] }, () => 'never');

// S-INC-15: the .py files below /t/sub.
pp.proc({ name: 'regex_build', needs: T_RO, inputs: [pp.regexFiles('/t/sub', '.*\\.py$')] }, () => 'built');

// S-INC-16: a regexFiles root that is not a directory.
pp.proc({ name: 'regex_bad', needs: T_RO, inputs: [pp.regexFiles('/t/not_a_dir', '.*')] }, () => 'never');

// Every .txt below /t/g but *.tmp.txt.
pp.proc(
  { name: 'globbed', needs: T_RO, inputs: ['/t/g/**/*.txt'], inputsIgnore: ['*.tmp.txt'] },
  () => 'globbed',
);

// Every .txt in /t/h but the module's globalInputsIgnore (*.skip.txt).
pp.proc({ name: 'global_ignored', needs: T_RO, inputs: ['/t/h/*.txt'] }, () => 'global');

// The proc the Python module writes with `open` (the test makes the file here).
pp.proc({ name: 'written_with_open', needs: T, outputs: ['/t/with_open.txt'] }, () => 'written');

// S-OUT-01: declares an output nobody writes.
pp.proc({ name: 'out_missing', needs: T, outputs: ['/t/missing_output.txt'] }, () => 'built');

// S-OUT-02: an output (a single string, not a list).
pp.proc({ name: 'out_created', needs: T, outputs: '/t/output.txt' }, () => 'built');

// S-OUT-03: an output that must be younger than an hour (3600 seconds).
pp.proc(
  { name: 'out_aged', needs: T, inputs: ['/t/src.txt'], outputs: [pp.output('/t/aged.txt', { maxAge: 3600 })] },
  () => 'built',
);

// S-OUT-04: an output an hour old (maxAge in integer seconds).
pp.proc({ name: 'out_backdated', needs: T, outputs: [pp.output('/t/old.txt', { maxAge: 1 })] }, () => 'built');

// S-OUT-04 again, maxAge in fractional seconds, as a plain object.
pp.proc({ name: 'out_half', needs: T, outputs: [{ path: '/t/half.txt', maxAge: 0.5 }] }, () => 'built');

// S-OUT-05: maxAge in words.
pp.proc(
  { name: 'out_words', needs: T, outputs: [pp.output('/t/words.txt', { maxAge: '1 minutes' })] },
  () => 'built',
);

// S-OUT-06: an hour-old output without the post-run freshness check.
pp.proc(
  {
    name: 'out_lenient',
    needs: T,
    outputs: [pp.output('/t/lenient.txt', { maxAge: '1s', enforceFreshness: false })],
  },
  () => 'built',
);

// S-OUT-07: existence is still required without the freshness check.
pp.proc(
  {
    name: 'out_lenient_missing',
    needs: T,
    outputs: [pp.output('/t/missing_lenient.txt', { enforceFreshness: false })],
  },
  () => 'built',
);

pp.setOptions({ taskDbPath: '/never/used.db', globalInputsIgnore: ['*.skip.txt'] });
