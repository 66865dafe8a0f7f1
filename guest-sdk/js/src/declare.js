// Declarations: `proc`, `proto`, special deps, rdep rules and the module registry.
//
// Everything here runs when the job module is evaluated, which for a component is at build
// time (componentize-js pre-initialises it), so a bad declaration fails the build.

import { UserError } from './errors.js';
import { checkType, typeOfValue } from './values.js';

const PLACEHOLDER = /\[([^\]]+)\]/g;

/** The `[placeholder]` names of a name pattern, in order. */
export function placeholders(name) {
  return [...name.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

/** Run only if no other proc of the run has failed (parproc's `NO_FAILURES`). */
export const NO_FAILURES = Object.freeze({ special: 'NO_FAILURES', toString: () => 'NO_FAILURES' });

class RdepRule {
  constructor(kind, pattern) {
    if (typeof pattern !== 'string') {
      throw new UserError(`${kind} pattern must be a string, got ${typeof pattern}`);
    }
    this.kind = kind;
    this.pattern = pattern;
  }
}

/** When the declarer is scheduled, the target (the pattern filled from the declarer's args)
 * is created if needed, scheduled, and runs after the declarer (parproc's `WhenScheduled`). */
export function whenScheduled(pattern) {
  return new RdepRule('whenScheduled', pattern);
}

/** When a proc matching the pattern is scheduled, the declarer becomes one of its deps; if
 * the declarer is scheduled while the target is, it runs first (`WhenTargetScheduled`). */
export function whenTargetScheduled(pattern) {
  return new RdepRule('whenTargetScheduled', pattern);
}

class LogRule {
  constructor(ifSucceeded, pattern) {
    if (typeof pattern !== 'string') throw new UserError('log ignore pattern must be a string');
    this.ifSucceeded = ifSucceeded;
    this.pattern = pattern;
  }
}

/** Hide log lines matching the regular expression from failure snippets. */
export function ignoreLogAlways(pattern) {
  return new LogRule(false, pattern);
}

/** Hide matching log lines when the proc succeeded. */
export function ignoreLogIfSucceeded(pattern) {
  return new LogRule(true, pattern);
}

/** A guest path must be absolute: the host resolves it through the proc's grants. */
function absolute(what, path) {
  if (typeof path !== 'string') {
    throw new UserError(`${what} must be a string, got ${typeName(path)}`);
  }
  if (!path.startsWith('/')) {
    throw new UserError(
      `${what} '${path}' must be an absolute path inside the sandbox, like '/src/${path}'`,
    );
  }
  return path;
}

function typeName(v) {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function isGlob(path) {
  return /[*?[]/.test(path);
}

class RegexFiles {
  constructor(root, pattern) {
    this.root = absolute('regexFiles root', root);
    if (typeof pattern !== 'string') {
      throw new UserError(`regexFiles pattern must be a string, got ${typeName(pattern)}`);
    }
    try {
      new RegExp(pattern);
    } catch (e) {
      throw new UserError(`Invalid regex in regexFiles: '${pattern}': ${e.message}`);
    }
    this.pattern = pattern;
  }
}

/** An input of every regular file below the guest directory `root` whose path relative to it
 * (with `/` separators) matches the regular expression `pattern`, searched (parproc's
 * `regex_files`). The host checks the pattern again when it loads the module. */
export function regexFiles(root, pattern) {
  return new RegexFiles(root, pattern);
}

/** `maxAge` as the text the host parses: a string unchanged (`'1h'`, `'1 minutes'`), a
 * number of seconds as its decimal text (`'3600'`, `'0.5'`). */
function maxAgeText(maxAge) {
  if (maxAge === undefined || maxAge === null) return undefined;
  if (typeof maxAge === 'string') return maxAge;
  if (typeof maxAge === 'bigint') return maxAge.toString();
  if (typeof maxAge !== 'number') {
    throw new UserError(
      'output maxAge must be a number of seconds or a string like ' +
        `'4s', '4m', '4h', '4d', got ${typeName(maxAge)}`,
    );
  }
  let text = String(maxAge);
  // The host reads plain decimals only.
  if (/e/i.test(text) && Number.isFinite(maxAge)) {
    text = maxAge.toFixed(9).replace(/0+$/, '').replace(/\.$/, '');
  }
  return text;
}

const OUTPUT_OPTIONS = new Set(['path', 'maxAge', 'enforceFreshness']);

class Output {
  constructor(path, maxAge, enforceFreshness) {
    this.path = absolute('output path', path);
    this.maxAge = maxAgeText(maxAge);
    this.enforceFreshness = enforceFreshness === undefined ? true : Boolean(enforceFreshness);
  }
}

/** A file a proc must leave behind (parproc's `Output`): a guest path or glob, with an
 * optional `maxAge` (seconds, or a string like `'4s'`, `'1 minutes'`, `'2h'`, `'3 days'`)
 * and `enforceFreshness` (after the run, an output with `maxAge` must be newer than that;
 * default true). */
export function output(path, options = {}) {
  for (const key of Object.keys(options ?? {})) {
    if (!OUTPUT_OPTIONS.has(key) || key === 'path') {
      const why = `unknown option \`${key}\`${hint(key, OUTPUT_OPTIONS)}`;
      throw new UserError(`output "${path}": ${why}`);
    }
  }
  return new Output(path, options?.maxAge, options?.enforceFreshness);
}

/** ` (did you mean \`fooBar\`?)` when `key` is the snake_case spelling of a known option. */
export function hint(key, known) {
  const camel = key.replace(/_([a-z])/g, (_m, c) => c.toUpperCase());
  return camel !== key && known.has(camel) ? ` (did you mean \`${camel}\`?)` : '';
}

function inputs(what, value) {
  let list = value ?? [];
  if (typeof list === 'string' || typeof list === 'function' || list instanceof RegexFiles) {
    list = [list];
  }
  if (!Array.isArray(list)) throw new UserError(`${what} inputs must be a list`);
  for (const i of list) {
    if (typeof i === 'string') absolute(`${what} input`, i);
    else if (!(typeof i === 'function' || i instanceof RegexFiles)) {
      throw new UserError(
        `${what} inputs must contain strings, regexFiles(...) or functions, got ${typeName(i)}`,
      );
    }
  }
  return [...list];
}

function outputs(what, value) {
  let list = value ?? [];
  if (!Array.isArray(list)) list = [list];
  return list.map((o) => {
    if (typeof o === 'string') return new Output(o, undefined, true);
    if (o instanceof Output) return o;
    if (o !== null && typeof o === 'object' && !Array.isArray(o)) {
      for (const key of Object.keys(o)) {
        if (!OUTPUT_OPTIONS.has(key)) {
          const why = `unknown option \`${key}\`${hint(key, OUTPUT_OPTIONS)}`;
          throw new UserError(`${what} output: ${why}`);
        }
      }
      return new Output(o.path, o.maxAge, o.enforceFreshness);
    }
    throw new UserError(
      `${what} outputs must contain strings, output(...) or { path, maxAge, enforceFreshness }, ` +
        `got ${typeName(o)}`,
    );
  });
}

/** `inputsIgnore` / `globalInputsIgnore`: globs (matched against the whole guest path) or
 * absolute paths. */
export function ignoreList(what, value) {
  const list = strings(what, value);
  for (const p of list) if (!isGlob(p)) absolute(what, p);
  return list;
}

/** The module's declarations, default targets, params and options. */
export const registry = {
  jobs: new Map(),
  targets: [],
  params: new Map(),
  options: {},
  running: false,
  target(name) {
    if (!this.targets.includes(name)) this.targets.push(name);
  },
};

const OPTIONS = new Set([
  'name', 'deps', 'rdeps', 'locks', 'now', 'args', 'types', 'timeout', 'wave', 'argChoices',
  'logIgnore', 'needs', 'fuel', 'memory', 'description', 'inputs', 'inputsIgnore', 'outputs',
  'noSkip',
]);

function strings(what, value) {
  const list = value === undefined ? [] : typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) {
    throw new UserError(`${what} must be a list of strings`);
  }
  return [...list];
}

function normalise(what, opts, name) {
  for (const key of Object.keys(opts)) {
    if (!OPTIONS.has(key)) {
      throw new UserError(`${what} "${name}": unknown option \`${key}\`${hint(key, OPTIONS)}`);
    }
  }
  let deps = opts.deps ?? [];
  if (typeof deps === 'string' || typeof deps === 'function') deps = [deps];
  if (!Array.isArray(deps)) throw new UserError(`${what} deps must be a list`);
  for (const d of deps) {
    if (!(typeof d === 'string' || typeof d === 'function' || d === NO_FAILURES)) {
      throw new UserError(
        `${what} deps must contain strings, functions or NO_FAILURES, got ${typeof d}`,
      );
    }
  }
  let rdeps = opts.rdeps ?? [];
  if (!Array.isArray(rdeps)) rdeps = [rdeps];
  for (const r of rdeps) {
    if (!(typeof r === 'string' || r instanceof RdepRule)) {
      throw new UserError(
        `${what} rdeps must contain strings, whenScheduled(...) or whenTargetScheduled(...)`,
      );
    }
  }
  let logIgnore = opts.logIgnore ?? [];
  if (!Array.isArray(logIgnore)) logIgnore = [logIgnore];
  logIgnore = logIgnore.map((r) => (typeof r === 'string' ? ignoreLogAlways(r) : r));
  for (const r of logIgnore) {
    if (!(r instanceof LogRule)) throw new UserError(`${what} logIgnore must contain strings or rules`);
    try {
      new RegExp(r.pattern);
    } catch (e) {
      throw new UserError(`Invalid regex in ${what} logIgnore: '${r.pattern}': ${e.message}`);
    }
  }
  const wave = opts.wave ?? 0;
  if (!Number.isInteger(wave)) throw new UserError(`${what} wave must be an integer, got ${wave}`);
  const timeout = opts.timeout;
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0)) {
    throw new UserError(`${what} timeout must be a number of seconds >= 0, got ${timeout}`);
  }
  const args = opts.args ?? {};
  if (typeof args !== 'object' || Array.isArray(args)) throw new UserError(`${what} args must be an object`);
  const needs = opts.needs ?? {};
  return {
    deps: [...deps],
    rdeps,
    locks: strings(`${what} locks`, opts.locks),
    now: Boolean(opts.now),
    args,
    types: opts.types ?? {},
    timeout,
    wave,
    choices: opts.argChoices,
    logIgnore,
    needs: {
      dirs: [
        ...strings('needs.dirs', needs.dirs).map((path) => ({ path, writable: false })),
        ...strings('needs.dirsRw', needs.dirsRw).map((path) => ({ path, writable: true })),
      ],
      env: strings('needs.env', needs.env),
      network: strings('needs.network', needs.network),
      input: Boolean(needs.input),
      tools: strings('needs.tools', needs.tools),
      http: strings('needs.http', needs.http),
    },
    fuel: opts.fuel,
    memory: opts.memory,
    description: opts.description ?? '',
    inputs: inputs(what, opts.inputs),
    inputsIgnore: ignoreList(`${what} inputsIgnore`, opts.inputsIgnore),
    outputs: outputs(what, opts.outputs),
    noSkip: Boolean(opts.noSkip),
  };
}

function checkChoices(name, choices) {
  if (choices === undefined || typeof choices === 'function') return;
  if (typeof choices !== 'object' || Array.isArray(choices)) {
    throw new UserError(`Proto argChoices must be an object or a function`);
  }
  const ph = placeholders(name);
  for (const [key, values] of Object.entries(choices)) {
    if (!ph.includes(key)) {
      throw new UserError(
        `Proto arg_choices key "${key}" is not a parameter in pattern "${name}". Pattern parameters: [${ph.map((p) => `'${p}'`).join(', ')}]`,
      );
    }
    if (!(Array.isArray(values) || typeof values === 'function')) {
      throw new UserError(`argChoices for "${key}" must be a list or a function`);
    }
  }
}

function register(kind, options, fn) {
  if (typeof options === 'function' && fn === undefined) [options, fn] = [{}, options];
  if (typeof options === 'string') options = { name: options };
  if (typeof fn !== 'function') throw new UserError(`${kind}(options, fn): fn must be a function`);
  const what = kind === 'proc' ? 'Proc' : 'Proto';
  const name = options?.name ?? fn.name;
  if (!name) throw new UserError(`${what} name cannot be empty (give options.name)`);
  const opts = normalise(what, options ?? {}, name);
  const ph = placeholders(name);
  if (kind === 'proc' && ph.length) {
    throw new UserError(
      `Proc name "${name}" contains proto pattern placeholders. Proc names must be fully resolved (no [param] placeholders).`,
    );
  }
  if (kind === 'proto') checkChoices(name, opts.choices);
  if (registry.jobs.has(name)) throw new UserError(`${what} "${name}" already created`);

  // Parameters: placeholders and args, typed by `types`, else by the default's type, else text.
  const params = [];
  const seen = new Set();
  const add = (param, fallback) => {
    if (seen.has(param)) return;
    seen.add(param);
    const declared = opts.types[param];
    const type = declared !== undefined ? checkType(what, param, declared) : fallback;
    if (type !== undefined) params.push({ name: param, ty: type });
  };
  for (const p of ph) add(p, typeOfValue(opts.args[p]) ?? 'text');
  for (const [p, v] of Object.entries(opts.args)) add(p, typeOfValue(v));
  for (const p of Object.keys(opts.types)) add(p, undefined);
  const defaults = Object.entries(opts.args).filter(([, v]) => typeOfValue(v) !== undefined);
  const local = Object.fromEntries(
    Object.entries(opts.args).filter(([, v]) => typeOfValue(v) === undefined),
  );
  registry.jobs.set(name, { kind, name, fn, params, defaults, local, ...opts });
  return fn;
}

/**
 * Register a proc: `proc({ name, deps, now }, (ctx, args) => ...)`, or `proc(fn)` named
 * after the function. The function gets the context and this proc's args as an object, and
 * may be async; what it returns (JSON-serialisable) is the proc's result.
 *
 * For incremental runs: `inputs` are guest paths or globs (`'/src/**\/*.js'`, `[param]`s
 * filled from the args by the host), `regexFiles(root, pattern)` and functions computing
 * paths (called like computed deps); `inputsIgnore` removes paths or globs from them;
 * `outputs` are paths, globs, `output(path, { maxAge, enforceFreshness })` or such objects
 * with a `path`, which the proc must leave behind; `noSkip: true` always runs it.
 */
export function proc(options, fn) {
  return register('proc', options, fn);
}

/**
 * Register a proto (a template): `proto({ name: 'build::[env]', argChoices: { env: [...] },
 * deps: [(ctx) => ...] }, (ctx, { env }) => ...)`. Computed deps and choices get a dep
 * context `{ procName, args, params }` (args as text) and the args again as a second parameter.
 */
export function proto(options, fn) {
  return register('proto', options, fn);
}
