// The WIT exports (`declarations`, `procs`) answered from the registry. The build command
// bundles these with the job module and exports them from the component's entry.

import { DepContext, ProcContext } from './context.js';
import { NO_FAILURES, registry } from './declare.js';
import {
  ProcFailedError,
  ProcNoChangeError,
  ProcSkippedError,
} from './errors.js';
import { fromWit, resultJson, toWit } from './values.js';

function errorLine(e) {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** The stack frames of `e` from the user's code on (the SDK's own frames are left out). */
function userFrames(e) {
  const lines = String(e.stack).split('\n').filter((l) => l && !l.includes('initializer.js'));
  const sdk = [
    'run@', 'callback@', 'choiceValues@', 'resolveDeps@', 'resolveChoices@', 'resolveInputs@',
  ];
  while (lines.length > 1 && sdk.some((f) => lines[lines.length - 1].startsWith(f))) lines.pop();
  return lines.join('\n');
}

function typeName(v) {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function job(decl) {
  const j = registry.jobs.get(decl);
  if (!j) throw `no declaration "${decl}" in this module`;
  return j;
}

/** Run a guest callback; any exception becomes the error text (never a trap). */
function callback(fn, dctx) {
  registry.running = true;
  try {
    return fn(dctx, dctx.args);
  } catch (e) {
    if (e instanceof Error && e.stack) console.error(userFrames(e));
    throw errorLine(e);
  } finally {
    registry.running = false;
  }
}

function u64(n) {
  return n === undefined || n === null ? undefined : BigInt(Math.round(Number(n)));
}

function jobDecl(j) {
  let choices = [];
  let choicesComputed = false;
  if (typeof j.choices === 'function') choicesComputed = true;
  else if (j.choices) {
    choices = Object.entries(j.choices).map(([param, values]) => ({
      param,
      source:
        typeof values === 'function'
          ? { tag: 'computed' }
          : { tag: 'fixed', val: values.map(toWit) },
    }));
  }
  return {
    kind: j.kind,
    name: j.name,
    params: j.params,
    defaults: j.defaults.map(([name, v]) => ({ name, value: toWit(v) })),
    deps: j.deps.map((d) =>
      d === NO_FAILURES
        ? { tag: 'no-failures' }
        : typeof d === 'string'
          ? { tag: 'name', val: d }
          : { tag: 'computed' },
    ),
    rdeps: j.rdeps.map((r) =>
      typeof r === 'string'
        ? { tag: 'plain', val: r }
        : {
            tag: r.kind === 'whenScheduled' ? 'when-scheduled' : 'when-target-scheduled',
            val: r.pattern,
          },
    ),
    locks: j.locks,
    wave: j.wave,
    now: j.now,
    limits: {
      timeoutMs: j.timeout === undefined ? undefined : u64(j.timeout * 1000),
      fuel: u64(j.fuel),
      memoryBytes: u64(j.memory),
    },
    choices,
    choicesComputed,
    logIgnore: j.logIgnore.map((r) => ({
      tag: r.ifSucceeded ? 'if-succeeded' : 'always',
      val: r.pattern,
    })),
    needs: j.needs,
    description: j.description,
    incremental: {
      inputs: j.inputs.map((i) =>
        typeof i === 'string'
          ? { tag: 'path', val: i }
          : typeof i === 'function'
            ? { tag: 'computed' }
            : { tag: 'regex-files', val: { root: i.root, pattern: i.pattern } },
      ),
      inputsIgnore: j.inputsIgnore,
      outputs: j.outputs.map((o) => ({
        path: o.path,
        maxAge: o.maxAge,
        enforceFreshness: o.enforceFreshness,
      })),
      noSkip: j.noSkip,
    },
  };
}

/** The paths a computed dep or input returned: a string or a list of strings. */
function pathList(what, out) {
  if (typeof out === 'string') return [out];
  if (!Array.isArray(out)) throw `${what} must return str or list[str], got ${typeName(out)}`;
  for (const item of out) {
    if (typeof item !== 'string') throw `${what} list item must be str, got ${typeName(item)}`;
  }
  return [...out];
}

function choiceValues(key, values, dctx) {
  if (typeof values === 'function') {
    values = callback(values, dctx);
    if (!Array.isArray(values)) {
      throw `arg_choices lambda for "${key}" must return a sequence (list or tuple), got ${typeName(values)}`;
    }
  }
  return values.map(toWit);
}

export const declarations = {
  describe() {
    const o = registry.options;
    return {
      jobs: [...registry.jobs.values()].map(jobDecl),
      targets: [...registry.targets],
      options: {
        parallel: o.parallel,
        mode: o.mode === undefined ? undefined : o.mode === 'single' ? 'single' : 'parallel',
        separator: o.nameParamSeparator,
        allowMissingDeps: o.allowMissingDeps,
        // A module only asks for an incremental run; the user chooses where the store is.
        taskDb: o.taskDb,
        inputsIgnore: o.globalInputsIgnore ?? [],
      },
      params: [...registry.params.entries()].map(([k, v]) => [k, JSON.stringify(v)]),
    };
  },

  resolveDeps(decl, index, ctx) {
    const j = job(decl);
    const dep = j.deps[index];
    if (typeof dep !== 'function') throw `dep ${index} of "${decl}" is not a computed dep`;
    return pathList('Lambda dependency', callback(dep, new DepContext(ctx)));
  },

  resolveInputs(decl, index, ctx) {
    const j = job(decl);
    const input = j.inputs[index];
    if (typeof input !== 'function') throw `input ${index} of "${decl}" is not a computed input`;
    return pathList('Callable input', callback(input, new DepContext(ctx)));
  },

  resolveChoices(decl, param, ctx) {
    const j = job(decl);
    const dctx = new DepContext(ctx);
    let choices = j.choices;
    if (choices === undefined) throw `"${decl}" declares no argChoices`;
    const computed = typeof choices === 'function';
    if (computed) {
      choices = callback(choices, dctx);
      if (choices === null || typeof choices !== 'object' || Array.isArray(choices)) {
        throw `arg_choices callable must return a dict, got ${typeName(choices)}`;
      }
    }
    const keys = param !== undefined ? [param] : Object.keys(choices);
    const out = [];
    for (const key of keys) {
      if (!(key in choices)) {
        if (param !== undefined && computed) continue;
        throw `"${decl}" declares no argChoices for "${key}"`;
      }
      out.push([key, choiceValues(key, choices[key], dctx)]);
    }
    return out;
  },
};

export const procs = {
  async run(decl, procName, args) {
    const j = registry.jobs.get(decl);
    if (!j) throw { tag: 'failed', val: `no declaration "${decl}" in this module` };
    const values = { ...j.local };
    for (const [name, v] of j.defaults) values[name] = v;
    for (const a of args) values[a.name] = fromWit(a.value);
    const ctx = new ProcContext(procName, values);
    let result;
    registry.running = true;
    try {
      result = await j.fn(ctx, values);
    } catch (e) {
      if (e instanceof ProcFailedError) throw { tag: 'failed', val: e.message.trim() };
      if (e instanceof ProcSkippedError) throw { tag: 'skipped', val: e.message };
      if (e instanceof ProcNoChangeError) throw { tag: 'no-change', val: e.message };
      // The host ends the log with the failure message; the stack frames go before it.
      if (e instanceof Error && e.stack) console.error(userFrames(e));
      throw { tag: 'failed', val: errorLine(e) };
    } finally {
      registry.running = false;
    }
    try {
      return resultJson(result);
    } catch (e) {
      throw { tag: 'failed', val: `Return value is not JSON-serialisable: ${e.message ?? e}` };
    }
  },
};
