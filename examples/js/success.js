// parproc's examples/success.py as a parproc-host job module in JavaScript: every proc
// succeeds, and a skipped proc counts as a success.
//
// skipped_task, func0 and func1 start together; func2 waits for func0 and func1, func3 for
// func2, and func4 for func2 and func3 (about 3 + 2 + 1 + 5 = 11 s).

import * as pp from 'parproc';

pp.proc({ now: true }, function skipped_task(context) {
  throw new pp.ProcSkippedError('Nothing to do for this run');
});

pp.proc({ now: true }, async function func0(context) {
  await pp.sleep(1000);
});

pp.proc({ now: true }, async function func1(context) {
  console.log('some output');
  await pp.sleep(3000);
});

pp.proc({ now: true, deps: ['func0', 'func1'] }, async function func2(context) {
  await pp.sleep(2000);
});

pp.proc({ now: true, deps: ['func2'] }, async function func3(context) {
  await pp.sleep(1000);
});

pp.proc({ now: true, deps: ['func2', 'func3'] }, async function func4(context) {
  await pp.sleep(5000);
});

pp.waitForAll();
