// `halo new`: the scaffolded view crate builds for wasm32-wasip2, passes its
// own unit test natively, passes `halo check`, and serves a real client
// through its custom handler, all on the first try.
//
// Builds share a target folder so repeated runs are warm: CARGO_TARGET_DIR
// when set (relative to the repository), else one under the OS temp folder.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  VIEW_TARGET_DIR,
  haloBin,
  tempDir,
  startHalo,
  connect,
  disconnectAll,
  call,
  ok,
  nextEvent,
  eventually,
  printLogsOnFailure,
} from './harness.mjs';

const NAME = 'shopping-list';
const VIEW = 'ShoppingList';
const LIB = 'shopping_list';
/** A cold build compiles the SDK and its dependencies for two targets. */
const BUILD_TIMEOUT_MS = 10 * 60_000;
/** How long a view dropped into a running host may take to load. */
const LOAD_TIMEOUT_MS = 10_000;

const work = tempDir('halo-new-');
const crate = path.join(work, NAME);
let halo;

after(async () => {
  disconnectAll();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

function runHalo(args, options = {}) {
  return spawnSync(haloBin(), args, { encoding: 'utf8', timeout: 30_000, ...options });
}

/** Runs cargo in the crate, bounded; fails the test with its output. */
function cargo(args) {
  const run = spawnSync('cargo', args, {
    cwd: crate,
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
    env: { ...process.env, CARGO_TARGET_DIR: VIEW_TARGET_DIR, CARGO_TERM_COLOR: 'never' },
  });
  const output = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.error, undefined, `cargo ${args.join(' ')}: ${run.error?.message}\n${output}`);
  assert.equal(run.status, 0, `cargo ${args.join(' ')} failed:\n${output}`);
  return output;
}

test('halo new scaffolds a crate, and refuses a bad name or a taken folder', () => {
  const made = runHalo(['new', NAME, '--dir', work]);
  assert.equal(made.status, 0, made.stderr);
  assert.match(made.stdout, new RegExp(`created .*${NAME}`));
  for (const file of ['Cargo.toml', '.cargo/config.toml', 'src/lib.rs', 'README.md', '.gitignore']) {
    assert.ok(fs.existsSync(path.join(crate, file)), `${file} is missing`);
  }
  const readme = fs.readFileSync(path.join(crate, 'README.md'), 'utf8');
  assert.match(readme, /cargo build --release/);
  assert.match(readme, /cargo test --target host-tuple/);

  const again = runHalo(['new', NAME, '--dir', work]);
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /exists already/);
  const bad = runHalo(['new', 'Not A Name', '--dir', work]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /cannot name a view crate/);
  assert.ok(!fs.existsSync(path.join(work, 'Not A Name')));
});

test('the crate builds for wasm32-wasip2 and its unit tests pass natively', () => {
  // Its .cargo/config.toml picks the component target.
  cargo(['build', '--release']);
  assert.ok(fs.existsSync(path.join(VIEW_TARGET_DIR, 'wasm32-wasip2', 'release', `${LIB}.wasm`)));
  // Exactly what its README says.
  const tested = cargo(['test', '--target', 'host-tuple']);
  assert.match(tested, /test result: ok\. 2 passed/);
});

test('halo check describes the view', () => {
  const run = runHalo(['check', path.join(VIEW_TARGET_DIR, 'wasm32-wasip2', 'release', `${LIB}.wasm`)]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`view +${VIEW}\\n`));
  assert.match(run.stdout, new RegExp(`collection +${VIEW}\\n`));
  assert.match(run.stdout, /routes +create, delete, list, patch, read, update\n/);
  assert.match(run.stdout, /handlers +create\n/);
  assert.match(run.stdout, /render +shared/);
  assert.match(run.stdout, /wit +halo:view@0\.1\.0/);
});

test('halo serves it: a client creates through the custom handler', async () => {
  halo = await startHalo();
  // Dropped into the running host's plugins folder, in one step, as a deploy would.
  const wasm = path.join(VIEW_TARGET_DIR, 'wasm32-wasip2', 'release', `${LIB}.wasm`);
  const aside = path.join(work, `${LIB}.wasm`);
  await fsp.copyFile(wasm, aside);
  await fsp.rename(aside, path.join(halo.pluginsDir, `${LIB}.wasm`));

  const alice = await connect(halo.url, { auth: { user: 'alice' } });
  const bob = await connect(halo.url, { auth: { user: 'bob' } });
  await eventually(async () => assert.deepEqual(await ok(bob, `${VIEW}:list`, []), []), LOAD_TIMEOUT_MS);

  const added = nextEvent(bob, `${VIEW}:serveradd`);
  const item = await ok(alice, `${VIEW}:create`, { title: '  Milk ' });
  assert.equal(typeof item.id, 'string');
  assert.deepEqual(item, { id: item.id, title: 'Milk', done: false, author: 'alice' });
  assert.deepEqual(await added, [item]);

  const refused = await call(alice, `${VIEW}:create`, { title: ' ' });
  assert.equal(refused.err?.code, 'invalid', JSON.stringify(refused));
  assert.deepEqual(await ok(bob, `${VIEW}:list`, []), [item]);
});
