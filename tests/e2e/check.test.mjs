// `halo check <file.wasm>`: a view's spec, or exactly why halo would refuse
// the file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './harness.mjs';

const WASM = path.resolve(REPO, process.env.HALO_WASM_DIR || 'plugins/target/wasm32-wasip2/release');

function check(file) {
  return spawnSync(path.resolve(REPO, process.env.HALO_BIN), ['check', file], { encoding: 'utf8' });
}

test('a view is described: name, collection, routes, render mode, WIT version', () => {
  const run = check(path.join(WASM, 'notes.wasm'));
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /view +Notes/);
  assert.match(run.stdout, /collection +Notes/);
  assert.match(run.stdout, /routes +create, delete, list, patch, read, update/);
  assert.match(run.stdout, /render +per client/);
  assert.match(run.stdout, /wit +halo:view@0\.1\.0/);
  assert.match(run.stdout, /hash +[0-9a-f]{64}/);
});

test('what is not a view is refused with the reason', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'halo-check-'));
  const text = path.join(dir, 'text.wasm');
  fs.writeFileSync(text, 'hello');
  const core = path.join(dir, 'core.wasm');
  fs.writeFileSync(core, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  const cases = [
    [text, /it is not WebAssembly/],
    [core, /a core WebAssembly module, not a component/],
    // A WASI command: a valid component, of another world.
    [path.join(WASM, 'not-a-view.wasm'), /does not fit the world halo:view@0\.1\.0/],
  ];
  for (const [file, reason] of cases) {
    const run = check(file);
    assert.equal(run.status, 1, `${file}: ${run.stdout}`);
    assert.match(run.stderr, /would be refused: /);
    assert.match(run.stderr, reason);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
