// The first example of parproc's README, as a parproc-host job module in JavaScript.
//
// func0 (1 s) and func1 (3 s) run in parallel; func2 depends on both and sleeps 2 s, so the
// run takes about 5 s. Build and run (see README.md, "JavaScript quick start"):
//
//   node guest-sdk/js/build.mjs examples/js/readme.js readme.wasm
//   parproc-host run readme.wasm

import * as pp from 'parproc';

pp.proc({ now: true }, async function func0(context) {
  await pp.sleep(1000);
});

pp.proc({ now: true }, async function func1(context) {
  await pp.sleep(3000);
});

pp.proc({ now: true, deps: ['func0', 'func1'] }, async function func2(context) {
  await pp.sleep(2000);
});

pp.waitForAll();
