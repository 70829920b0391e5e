// A component that is no loadable view is refused with what it lacks and
// the build flag that fixes it, by `halo check` and in the log of a running
// halo; `halo check` names the WIT version of a view it accepts. The
// components are made here: a QuickJS build without --sync (with
// componentize-qjs), and components from WebAssembly text (with jco), both
// from plugins/sdk-js's packages (`make views-setup`).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { REPO, haloBin, tempDir, startHalo, eventually } from './harness.mjs';
import { VIEWS_DIR } from './languages.mjs';

const SDK_JS = path.join(REPO, 'plugins', 'sdk-js');
const JCO = path.join(SDK_JS, 'node_modules', '.bin', 'jco');
const QJS = path.join(SDK_JS, 'node_modules', 'componentize-qjs');
const TOOLS = fs.existsSync(JCO) && fs.existsSync(QJS);
const SKIP = !TOOLS && 'plugins/sdk-js has no node_modules (make views-setup)';

const work = tempDir('halo-refusals-');
let halo;

after(async () => {
  await halo?.stop();
});

function check(file) {
  return spawnSync(haloBin(), ['check', file], { encoding: 'utf8' });
}

/** `wat` (a component in WebAssembly text) made binary at `work/<name>.wasm`. */
function fromText(name, wat) {
  const text = path.join(work, `${name}.wat`);
  const wasm = path.join(work, `${name}.wasm`);
  fs.writeFileSync(text, wat);
  const run = spawnSync(JCO, ['parse', text, '-o', wasm], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return wasm;
}

/** A view written against the WIT directly, built by QuickJS without --sync. */
async function asyncBuild() {
  const { componentize } = createRequire(path.join(SDK_JS, 'package.json'))('componentize-qjs');
  const source = `
export function describe() {
  return { name: 'Late', collection: 'Late', defaults: '{}', routes: ['list'], handlers: [], renderPerClient: false, connect: false };
}
export function handle() { return 'null'; }
export function render(client, model) { return model; }
export function connect() {}
`;
  const { component } = await componentize({ witPath: path.join(REPO, 'wit'), world: 'view', jsSource: source, sync: false });
  const wasm = path.join(work, 'async.wasm');
  fs.writeFileSync(wasm, component);
  return wasm;
}

function refused(file, ...reasons) {
  const run = check(file);
  assert.equal(run.status, 1, run.stdout);
  assert.match(run.stderr, /would be refused: not a valid halo view component: /);
  for (const reason of reasons) assert.match(run.stderr, reason);
  return run.stderr;
}

test('a QuickJS build using the async ABI is told to build with --sync', { skip: SKIP }, async () => {
  refused(
    await asyncBuild(),
    /uses the component model's async ABI/,
    /--backend-qjs-disable-async/,
    /halo-view-build/,
    // wasmtime's own words follow.
    /\(wasmtime: failed to parse WebAssembly module: `[a-z.]+` requires the component model async feature/
  );
});

test('a build importing wasi:http is told how SpiderMonkey builds leave it out', { skip: SKIP }, () => {
  const wasm = fromText(
    'http',
    '(component (import "wasi:http/outgoing-handler@0.2.3" (instance (export "handle" (func)))))'
  );
  refused(
    wasm,
    /does not fit the world halo:view@0\.1\.0/,
    /it imports wasi:http\/outgoing-handler@0\.2\.3, which halo does not give views/,
    /--backend quickjs/,
    /-d http fetch-event/,
    /\(wasmtime: component imports instance `wasi:http\/outgoing-handler@0\.2\.3`/
  );
});

test('a build for an unknown halo:view version names the versions halo loads', { skip: SKIP }, () => {
  const wasm = fromText(
    'future',
    '(component (import "halo:view/log@0.3.0" (instance (export "write" (func (param "message" string))))))'
  );
  refused(wasm, /it imports halo:view\/log@0\.3\.0: this halo loads halo:view@0\.1\.0 and @0\.2\.0/);
});

test('halo check names the version of each view it accepts', { skip: !fs.existsSync(path.join(VIEWS_DIR, 'py-notes.wasm')) && 'not built (make views)' }, () => {
  for (const [file, wit] of [
    ['js-todos.wasm', '0.1.0'],
    ['js-todos-0.2.wasm', '0.2.0'],
    ['py-notes.wasm', '0.2.0'],
  ]) {
    const run = check(path.join(VIEWS_DIR, file));
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`wit +halo:view@${wit.replaceAll('.', '\\.')}\\n`), file);
  }
});

test('a running halo logs the same reason when the file is dropped in', { skip: SKIP }, async () => {
  halo = await startHalo();
  const wasm = await asyncBuild();
  const aside = path.join(work, 'late.wasm');
  fs.copyFileSync(wasm, aside);
  fs.renameSync(aside, path.join(halo.pluginsDir, 'late.wasm'));
  await eventually(() => assert.match(halo.logs(), /view refused/), 60_000, 50);
  const line = halo.logs().split('\n').find((l) => l.includes('view refused'));
  assert.match(line, /async ABI/);
  assert.match(line, /--backend-qjs-disable-async/);
  assert.match(line, /requires the component model async feature/);
});
