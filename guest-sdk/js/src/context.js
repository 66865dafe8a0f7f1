// What a running proc sees (`ProcContext`, through the WIT `context` import) and what
// computed deps and choices see (`DepContext`).

import * as host from 'parproc:jobs/context@0.2.0';

import { ProcessError, UserError } from './errors.js';
import { toWit } from './values.js';

/** The `proc-state`s of a wait that fail the waiter; `succeeded`, `skipped` and
 * `up-to-date` (new in parproc:jobs@0.2.0) count as successes. */
const FAILED_STATES = ['failed', 'failed-dep', 'cancelled'];

/** Call a context import; its error becomes a `UserError` with the host's message. */
function call(fn, ...args) {
  try {
    return fn(...args);
  } catch (e) {
    const text = e && typeof e === 'object' && 'payload' in e ? e.payload : e?.message ?? e;
    throw new UserError(String(text));
  }
}

export function parseParams(pairs) {
  const out = {};
  for (const [name, text] of pairs) {
    try {
      out[name] = JSON.parse(text);
    } catch {
      out[name] = text;
    }
  }
  return out;
}

/** Flatten `wait('a', ['b', 'c'])` into a list of names. */
export function flatNames(names) {
  const out = [];
  for (const n of names) {
    if (Array.isArray(n)) out.push(...flatNames(n));
    else if (typeof n === 'string') out.push(n);
    else throw new UserError(`proc names must be strings, got ${typeof n}`);
  }
  return out;
}

function witArgs(args) {
  return Object.entries(args ?? {}).map(([name, value]) => ({ name, value: toWit(value) }));
}

/** `ctx.results`: name -> result of every finished proc in this proc's view, read from the
 * host on use (the view moves forward after a `wait`). */
function resultsView() {
  const cache = new Map();
  let names;
  const keys = () => (names ??= host.resultNames());
  const get = (name) => {
    if (cache.has(name)) return cache.get(name);
    const text = host.result(name);
    const value = text === undefined ? undefined : JSON.parse(text);
    if (text !== undefined) cache.set(name, value);
    return value;
  };
  const view = new Proxy(
    {},
    {
      get: (_t, key) => (typeof key === 'string' ? get(key) : undefined),
      has: (_t, key) => typeof key === 'string' && keys().includes(key),
      ownKeys: () => keys(),
      getOwnPropertyDescriptor: (_t, key) =>
        typeof key === 'string' && keys().includes(key)
          ? { value: get(key), enumerable: true, configurable: true, writable: false }
          : undefined,
      set: () => false,
    },
  );
  const refresh = () => {
    cache.clear();
    names = undefined;
  };
  return { view, get, refresh };
}

/** The first argument of every proc function (parproc's `ProcContext`). */
export class ProcContext {
  #results = resultsView();
  #params;

  constructor(procName, args) {
    /** This proc's name. */
    this.procName = procName;
    /** This proc's args. */
    this.args = args;
  }

  /** The global params (module params overridden by `--param`). */
  get params() {
    return (this.#params ??= parseParams(host.params()));
  }

  /** Name -> result of the finished procs in this proc's view. */
  get results() {
    return this.#results.view;
  }

  /** The result of one proc, or undefined. */
  result(name) {
    return this.#results.get(name);
  }

  /** True if any dependency ran freshly (not skipped). */
  get depsChanged() {
    return host.depsChanged();
  }

  /** The dependencies that ran freshly. */
  get changedDeps() {
    return host.changedDeps();
  }

  /** Create procs from a proto (or return an existing proc); returns the names. `name` may
   * be a filled-out name, a glob, or a pattern filled from `args`. */
  create(name, args = {}, procName = undefined) {
    return call(host.create, name, witArgs(args), procName);
  }

  /** Schedule existing procs. */
  start(...names) {
    const list = flatNames(names);
    if (list.length) call(host.start, list);
  }

  /** Create, then start; returns the names. */
  run(name, args = {}, procName = undefined) {
    return call(host.run, name, witArgs(args), procName);
  }

  /** Start the named procs if idle and wait until all are complete; throws `ProcessError`
   * if any failed. Returns each proc's status `{ name, state, failure, message }`; `state`
   * is `'succeeded'`, `'skipped'` or `'up-to-date'` (restored from the state store of an
   * incremental run) for a success, `'failed'`, `'failed-dep'` or `'cancelled'` otherwise. */
  wait(...names) {
    const list = flatNames(names);
    if (!list.length) return [];
    const statuses = call(host.wait, list);
    this.#results.refresh();
    const failed = statuses.filter((s) => FAILED_STATES.includes(s.state));
    if (failed.length) {
      const detail = failed
        .map((s) => `"${s.name}" ${s.state}${s.message ? `: ${s.message}` : ''}`)
        .join('; ');
      throw new ProcessError(`Process error [3]: ${detail}`);
    }
    return statuses;
  }

  /** Ask the user for a line of input (needs `needs: { input: true }` and `--input`). */
  getInput(prompt = '', password = false) {
    return call(host.getInput, prompt, Boolean(password));
  }

  /** Write a record to this proc's log: `trace`, `debug`, `info`, `warn` or `error`. */
  log(message, level = 'info') {
    const levels = ['trace', 'debug', 'info', 'warn', 'error'];
    host.log(levels.includes(level) ? level : 'info', String(message));
  }
}

/** What computed deps and choices get first: the `procName` being created (it may contain
 * globs for choices), its `args` (defaults overridden by the name's values, as text), and
 * the global `params`. */
export class DepContext {
  constructor(ctx) {
    this.procName = ctx.procName;
    this.args = Object.fromEntries(ctx.args);
    this.params = parseParams(ctx.params);
  }
}
