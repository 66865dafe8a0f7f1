// parproc's examples/failed_deps.py as a parproc-host job module in JavaScript: a failure
// cancels only its own subtree.
//
// In the `a` tree everything succeeds. In the `x` tree the root `x` fails, so x_a and x_b
// end FAILED_DEP (`canceled due to failure of "x"`), and so do x_a_a and x_a_b (`canceled
// due to failure of "x_a"`); none of their bodies run. The run fails (exit status 1).

import * as pp from 'parproc';

console.log('Shows behavior when dependencies fail');

pp.proc({ now: true }, async function a(context) {
  await pp.sleep(1000);
});

pp.proc({ now: true, deps: ['a'] }, async function a_a(context) {
  await pp.sleep(3000);
});

pp.proc({ now: true, deps: ['a'] }, async function a_b(context) {
  await pp.sleep(2000);
});

pp.proc({ now: true, deps: ['a_a'] }, async function a_a_a(context) {
  await pp.sleep(1000);
});

pp.proc({ now: true, deps: ['a_a'] }, async function a_a_b(context) {
  await pp.sleep(1000);
});

pp.proc({ now: true }, async function x(context) {
  await pp.sleep(1000);
  console.log('Internal error caused by x');
  throw new Error('Failure');
});

pp.proc({ now: true, deps: ['x'] }, async function x_a(context) {
  await pp.sleep(3000);
});

pp.proc({ now: true, deps: ['x'] }, async function x_b(context) {
  await pp.sleep(2000);
});

pp.proc({ now: true, deps: ['x_a'] }, async function x_a_a(context) {
  await pp.sleep(1000);
});

pp.proc({ now: true, deps: ['x_a'] }, async function x_a_b(context) {
  await pp.sleep(1000);
});

pp.waitForAll();
