// Tests of the build's pieces that need no compiler: the entry module for
// each WIT version, where the repository's WIT is found, and the refusal of
// a view that cannot import the SDK. Building itself is checked in
// test-components/.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_WIT, WORLDS, build, entrySource, findWitRoot } from '../src/build.js';

test('the default is the version today\'s host loads', () => {
  assert.equal(DEFAULT_WIT, '0.1.0');
  assert.deepEqual(Object.keys(WORLDS), ['0.1.0', '0.2.0']);
});

test('a 0.1.0 entry exports the four functions at the top', () => {
  const source = entrySource('../../todos/view.js', '0.1.0');
  assert.match(source, /from 'halo:view\/collections@0\.1\.0'/);
  assert.match(source, /import view from "\.\.\/\.\.\/todos\/view\.js"/);
  for (const name of ['describe', 'handle', 'render', 'connect']) {
    assert.match(source, new RegExp(`export const ${name} = exported\\.${name};`));
  }
  assert.doesNotMatch(source, /export const guest/);
});

test('a 0.2.0 entry exports the interface guest', () => {
  const source = entrySource('./view.js', '0.2.0');
  assert.match(source, /from 'halo:view\/log@0\.2\.0'/);
  assert.match(source, /export const guest = exported;/);
  assert.doesNotMatch(source, /export const handle/);
  assert.throws(() => entrySource('./view.js', '9.9.9'), /unknown WIT version/);
});

test('the WIT is the repository\'s', () => {
  assert.match(findWitRoot(), /wit$/);
  assert.throws(() => findWitRoot(os.tmpdir()), /no wit\/view\.wit/);
});

test('a view that cannot import halo-sdk is refused before building', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'halo-build-'));
  try {
    writeFileSync(path.join(dir, 'view.js'), "import { View } from 'halo-sdk';\nexport default new View('V');\n");
    await assert.rejects(build({ view: path.join(dir, 'view.js'), out: path.join(dir, 'v.wasm') }), /halo-sdk is not installed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
