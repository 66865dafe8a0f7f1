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

/** `exec`'s `env` as `[name, value]` pairs: an object or a list of pairs, all strings. */
function execEnv(env) {
  const pairs = Array.isArray(env) ? env : Object.entries(env ?? {});
  for (const p of pairs) {
    if (!(Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'string'))) {
      throw new UserError('exec env must map string names to string values');
    }
  }
  return pairs.map(([name, value]) => [name, value]);
}

/** A WIT `list<u8>`: a Uint8Array (other views and ArrayBuffers are viewed as bytes), or a
 * string encoded as UTF-8. */
function execBytes(what, value) {
  if (value === undefined || value === null) return new Uint8Array(0);
  if (typeof value === 'string') return new TextEncoder().encode(value);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  throw new UserError(`${what} must be a Uint8Array or a string, got ${typeof value}`);
}

/** `exec`'s `dirs`: `{ path, writable }` objects, or paths (read-only). */
function execDirs(dirs) {
  return (Array.isArray(dirs) ? dirs : [dirs]).map((d) => {
    if (typeof d === 'string') return { path: d, writable: false };
    if (d !== null && typeof d === 'object' && typeof d.path === 'string') {
      return { path: d.path, writable: Boolean(d.writable) };
    }
    throw new UserError('exec dirs must contain paths or { path, writable } objects');
  });
}

/** `exec`'s `maxOutput` as the WIT `option<u64>` (a BigInt, or undefined for the host's). */
function execMaxOutput(maxOutput) {
  if (maxOutput === undefined || maxOutput === null) return undefined;
  const ok =
    typeof maxOutput === 'bigint'
      ? maxOutput >= 0n
      : Number.isSafeInteger(maxOutput) && maxOutput >= 0;
  if (!ok) throw new UserError(`exec maxOutput must be an integer >= 0, got ${maxOutput}`);
  return BigInt(maxOutput);
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

  /** Run the WASI command-line tool `tool` to its end (a parproc-host addition). The proc
   * declares it with `needs: { tools: [...] }` and the user maps it with
   * `--tool NAME=PATH.wasm`. `args` follow `argv[0]` (the tool's name); `env` (an object or
   * `[name, value]` pairs) is the tool's whole environment; `stdin` (a Uint8Array, or a string
   * as UTF-8) is what it reads, then end of file. The tool sees only the `dirs` given
   * (`{ path, writable }` objects, or a path for read-only), at the same paths: each one of
   * this proc's granted directories (or below one), writable only where this proc's is;
   * besides those, its own read-only data directories and a private writable `/tmp`.
   * `maxOutput` bounds the bytes of stdout and of stderr returned (the host's default and
   * cap, 1 MiB, when not given). Its fuel and memory come out of this proc's budget; a tool
   * that uses up the fuel ends this proc.
   *
   * Returns `{ exitCode, stdout, stderr, truncated }`: `exitCode` is 0 for success and 134
   * when the tool trapped (the host's reason ends `stderr`), `stdout` and `stderr` are
   * Uint8Arrays, `truncated` says whether either was longer (the whole of both went to the
   * proc's log). Throws `UserError` with the host's message when the tool cannot start (not
   * declared, a directory not granted, a tool that does not load). */
  exec({ tool, args = [], env = {}, stdin, dirs = [], maxOutput } = {}) {
    if (typeof tool !== 'string') {
      throw new UserError(`exec tool must be a string, got ${typeof tool}`);
    }
    if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) {
      throw new UserError('exec args must be a list of strings');
    }
    const out = call(host.exec, {
      tool,
      args: [...args],
      env: execEnv(env),
      stdin: execBytes('exec stdin', stdin),
      dirs: execDirs(dirs),
      maxOutput: execMaxOutput(maxOutput),
    });
    // Copied: the bindings' arrays are not `instanceof Uint8Array` in the module's realm.
    return {
      exitCode: out.exitCode,
      stdout: new Uint8Array(out.stdout),
      stderr: new Uint8Array(out.stderr),
      truncated: out.truncated,
    };
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
