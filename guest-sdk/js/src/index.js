// parproc for WebAssembly: write parproc job modules in JavaScript and run each proc in its
// own sandbox with `parproc-host`.
//
//   import { proc, proto, run, sleep } from 'parproc';
//
//   proc({ name: 'func0', now: true }, async () => { await sleep(1000); });
//   proto({ name: 'build::[env]', argChoices: { env: ['dev', 'prod'] } },
//     (ctx, { env }) => `built ${env}`);
//   run('build::*');      // a default target of the module
//
// Build it into a component (`node guest-sdk/js/build.mjs jobs.js jobs.wasm`) and run it
// (`parproc-host run jobs.wasm`). The module is evaluated when the component is built
// (componentize-js pre-initialises it): `proc`/`proto` register then, and top-level
// `run`/`start`/`wait` calls record the module's default targets.

import { flatNames } from './context.js';
import { hint, ignoreList, placeholders, registry } from './declare.js';
import { UserError } from './errors.js';

export { DepContext, ProcContext } from './context.js';
export {
  NO_FAILURES,
  ignoreLogAlways,
  ignoreLogIfSucceeded,
  output,
  proc,
  proto,
  regexFiles,
  whenScheduled,
  whenTargetScheduled,
} from './declare.js';
export {
  ProcFailedError,
  ProcNoChangeError,
  ProcSkippedError,
  ProcessError,
  UserError,
} from './errors.js';

function topLevel() {
  if (registry.running) throw new UserError('Use context when calling parproc from sub-process');
}

function fill(name, args) {
  let out = name;
  for (const [key, value] of Object.entries(args ?? {})) out = out.split(`[${key}]`).join(String(value));
  const left = placeholders(out);
  if (left.length) throw new UserError(`Pattern "${name}" requires arguments for [${left.join(', ')}]`);
  return out;
}

/** Record `name` (placeholders filled from `args`) as a name the module creates; returns it
 * in a list, so `start(...create('build::*'))` reads as in parproc. */
export function create(name, args = {}) {
  topLevel();
  return [fill(name, args)];
}

/** Record the names as the module's default targets. */
export function start(...names) {
  topLevel();
  for (const n of flatNames(names)) registry.target(n);
}

/** Record `name` (placeholders filled from `args`) as a default target. */
export function run(name, args = {}) {
  start(create(name, args));
}

/** Record the names as default targets (parproc-host starts what it waits for). */
export function wait(...names) {
  start(...names);
}

/** Nothing to record: `now` procs and default targets run when the module runs. */
export function waitForAll() {
  topLevel();
  return true;
}

/** Module params (JSON values) visible to every proc and computed dep; `--param` overrides. */
export function setParams(params) {
  topLevel();
  for (const [key, value] of Object.entries(params)) {
    if (JSON.stringify(value) === undefined) throw new UserError(`param \`${key}\` is not JSON-serialisable`);
    registry.params.set(key, value);
  }
}

const OPTIONS = new Set([
  'parallel', 'mode', 'nameParamSeparator', 'allowMissingDeps', 'taskDb', 'taskDbPath',
  'globalInputsIgnore',
]);

/** Run options: `parallel`, `mode` ('mp'/'parallel' or 'single'), `nameParamSeparator`,
 * `allowMissingDeps`, `taskDb` / `taskDbPath` and `globalInputsIgnore`.
 *
 * `taskDb: true` (or parproc's `taskDbPath`: any value but null/undefined; the path itself is
 * ignored) only asks for an incremental run: a module never chooses a host path, the user
 * picks the store with `--incremental` or `--state-dir`. `globalInputsIgnore` (paths or
 * globs) is removed from every proc's declared inputs. */
export function setOptions(options) {
  topLevel();
  for (let [key, value] of Object.entries(options)) {
    if (!OPTIONS.has(key)) throw new UserError(`unknown option \`${key}\`${hint(key, OPTIONS)}`);
    if (key === 'taskDbPath') {
      if (value === undefined || value === null) continue;
      [key, value] = ['taskDb', true];
    } else if (key === 'taskDb') {
      value = value === undefined || value === null ? undefined : Boolean(value);
    } else if (key === 'globalInputsIgnore') {
      value = ignoreList('globalInputsIgnore', value);
    }
    if (key === 'mode' && !['mp', 'parallel', 'single'].includes(value)) {
      throw new UserError(`mode must be "mp" or "single", got ${JSON.stringify(value)}`);
    }
    if (key === 'parallel' && !(Number.isInteger(value) && value >= 1)) {
      throw new UserError(`parallel must be a positive integer, got ${value}`);
    }
    registry.options[key] = value;
  }
}

/** A promise resolved after `ms` milliseconds (a proc may be async). */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
