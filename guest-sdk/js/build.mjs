#!/usr/bin/env node
// Build a parproc job module (JavaScript) into a WASI 0.2 component (the `jobs` world):
//
//   node guest-sdk/js/build.mjs JOBS.js [OUT.wasm]
//
// esbuild bundles the module with the SDK (`import ... from 'parproc'` resolves to
// guest-sdk/js/src/index.js) under a generated entry that also exports the WIT interfaces;
// componentize-js then pre-initialises the bundle into a component. Needs the SDK's npm
// dependencies: run guest-sdk/install-tools.sh (or `npm ci` in guest-sdk/js) first.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const sdk = dirname(fileURLToPath(import.meta.url));
const usage = 'usage: node guest-sdk/js/build.mjs JOBS.js [OUT.wasm] [--wit DIR]';

async function tools() {
  try {
    const esbuild = await import('esbuild');
    const { componentize } = await import('@bytecodealliance/componentize-js');
    return { esbuild, componentize };
  } catch (e) {
    console.error(
      `error: the JavaScript SDK's tools are not installed (${e.code ?? e.message}): run ` +
        'guest-sdk/install-tools.sh, or `npm ci` in guest-sdk/js',
    );
    process.exit(1);
  }
}

async function main(argv) {
  const positional = [];
  let wit = process.env.PARPROC_WIT ?? join(sdk, '..', '..', 'wit');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--wit') wit = argv[++i];
    else if (argv[i] === '-h' || argv[i] === '--help') {
      console.log(usage);
      return 0;
    } else positional.push(argv[i]);
  }
  if (positional.length < 1 || positional.length > 2) {
    console.error(usage);
    return 2;
  }
  const script = resolve(positional[0]);
  if (!existsSync(script)) {
    console.error(`error: no such module: ${positional[0]}`);
    return 2;
  }
  const output = resolve(positional[1] ?? script.replace(/\.[cm]?js$/, '') + '.wasm');
  if (!existsSync(wit)) {
    console.error(`error: no WIT directory at ${wit} (pass --wit)`);
    return 2;
  }
  const { esbuild, componentize } = await tools();
  const work = await mkdtemp(join(tmpdir(), 'parproc-js-'));
  try {
    const bundle = join(work, `${basename(script).replace(/\.[cm]?js$/, '')}.bundle.js`);
    const index = join(sdk, 'src', 'index.js');
    await esbuild.build({
      stdin: {
        contents:
          `import ${JSON.stringify(script)};\n` +
          `export { declarations, procs } from ${JSON.stringify(join(sdk, 'src', 'exports.js'))};\n`,
        resolveDir: dirname(script),
        sourcefile: 'parproc-entry.js',
        loader: 'js',
      },
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      target: 'es2022',
      keepNames: true,
      alias: { parproc: index, 'parproc-guest': index },
      external: ['parproc:*', 'wasi:*'],
      outfile: bundle,
      logLevel: 'warning',
    });
    const { component } = await componentize({
      sourcePath: bundle,
      witPath: resolve(wit),
      worldName: 'jobs',
      // `http` stays on so `fetch` works (through the world's wasi:http);
      // a job module serves no requests, so `fetch-event` is off.
      disableFeatures: ['fetch-event'],
    });
    await writeFile(output, component);
    console.log(`built ${output}`);
    return 0;
  } catch (e) {
    console.error(`error: building ${positional[0]} failed: ${e.message ?? e}`);
    return 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

process.exit(await main(process.argv.slice(2)));
