// Runs a built view component (any language, halo:view 0.1.0 or 0.2.0) inside
// node against the in-memory host, so the examples' answers can be checked on
// the very `.wasm` that would be deployed. jco transpiles the component to
// JavaScript plus core modules; the fake host's imports stand in for halo's,
// preview2-shim for WASI. Development only: jco and preview2-shim are
// devDependencies of the SDK (`npm ci` without `--omit=dev`).
//
// The returned exports plug into `call`, `render`, `connect` and `spec` like
// a `View` does.

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { hostImports } from './index.js';

// QuickJS components use extended constant expressions, which node 20's V8
// has behind a flag (later ones have it on).
v8.setFlagsFromString('--experimental-wasm-extended-const');

/** The WASI interfaces preview2-shim offers, by WIT name without version. */
async function wasiImports() {
  const shim = await import('@bytecodealliance/preview2-shim');
  const kebab = (name) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const found = {};
  for (const [pkg, interfaces] of Object.entries(shim)) {
    for (const [name, value] of Object.entries(interfaces)) found[`wasi:${pkg}/${kebab(name)}`] = value;
  }
  return found;
}

/**
 * Loads the component at `wasmPath` and returns its view exports
 * (`describe`, `handle`, `render`, `connect`), instantiated once: like one
 * warm instance of the host's pool, which keeps the view's state between
 * calls.
 */
export async function loadComponent(wasmPath) {
  const { transpile } = await import('@bytecodealliance/jco');
  const { files } = await transpile(await readFile(wasmPath), {
    name: 'view',
    instantiation: 'async',
    quiet: true,
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'halo-component-'));
  try {
    for (const [name, bytes] of Object.entries(files)) {
      if (name.endsWith('.d.ts')) continue;
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), bytes);
    }
    // `.mjs`: the folder has no package.json saying the code is ESM.
    await writeFile(path.join(dir, 'view.mjs'), files['view.js']);
    const { instantiate } = await import(pathToFileURL(path.join(dir, 'view.mjs')).href);
    const wasi = await wasiImports();
    const byName = {
      ...wasi,
      'halo:view/collections': hostImports.collections,
      'halo:view/events': hostImports.events,
      'halo:view/log': hostImports.log,
    };
    const imports = new Proxy({}, {
      get(_, specifier) {
        const found = byName[String(specifier).replace(/@.*$/, '')];
        if (found === undefined) throw new Error(`component import ${String(specifier)} has no stand-in`);
        return found;
      },
    });
    const core = async (name) => WebAssembly.compile(await readFile(path.join(dir, name)));
    const instance = await instantiate(core, imports);
    // 0.2.0 exports the four functions in the interface `guest`.
    return instance.guest ?? instance;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
