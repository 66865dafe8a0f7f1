// parproc's examples/error.py as a parproc-host job module in JavaScript: two procs fail at
// different times, and the independent ones still run.
//
// func0 and func1 print a line and throw after 1 s and 3 s; func2, func3 and func4 succeed.
// The run fails (exit status 1) after about 5 s, naming func0 and func1 and their messages.

import * as pp from 'parproc';

console.log('Multiple concurrent processes, where a couple are failing at various times');

pp.proc({ now: true }, async function func0(context) {
  await pp.sleep(1000);
  console.log('Internal error caused by X');
  throw new Error('Failure');
});

pp.proc({ now: true }, async function func1(context) {
  await pp.sleep(3000);
  console.log('Another internal error message');
  throw new Error('Failure');
});

pp.proc({ now: true }, async function func2(context) {
  await pp.sleep(2000);
});

pp.proc({ now: true }, async function func3(context) {
  await pp.sleep(1000);
});

pp.proc({ now: true }, async function func4(context) {
  await pp.sleep(5000);
});

pp.waitForAll();
