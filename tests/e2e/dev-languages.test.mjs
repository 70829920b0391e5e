// `halo new NAME --lang js|py` then `halo dev`: the scaffolded JavaScript
// and Python views are built, served and, on each save, rebuilt and
// hot-reloaded while clients stay connected; a view that does not build is
// reported with the tool's error, and its last good build keeps serving.
// Needs the SDKs' tool chains (`make views-setup`).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, haloBin, startHalo, tempDir, connect, disconnectAll, ok, call, eventually, record, printLogsOnFailure } from './harness.mjs';

const TOOLS =
  fs.existsSync(path.join(REPO, 'plugins/sdk-js/node_modules/componentize-qjs')) &&
  fs.existsSync(path.join(REPO, 'build/venv/bin/halo-view-build-py'));
const SKIP = !TOOLS && 'the JS and Python tool chains are not installed (make views-setup)';

/** The first builds: npm install, QuickJS, then componentize-py and the host's compile of CPython. */
const FIRST_BUILD_MS = 5 * 60_000;
/** A rebuild, then the host's reload. */
const REBUILD_MS = 3 * 60_000;

let work;
let halo;
let client;
let disconnects;
let firstId;

before(async () => {
  if (SKIP) return;
  work = tempDir('halo-dev-languages-');
  for (const [name, lang] of [
    ['shop-items', 'js'],
    ['chores', 'py'],
  ]) {
    const made = spawnSync(haloBin(), ['new', name, '--lang', lang, '--dir', work], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
  }
  halo = await startHalo({ command: ['dev', work], readyTimeoutMs: FIRST_BUILD_MS });
  client = await connect(halo.url, { auth: { user: 'alice' } });
  disconnects = record(client, 'disconnect');
  firstId = client.id;
});

after(async () => {
  disconnectAll();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

function assertSameConnection() {
  assert.equal(client.id, firstId, 'on the same socket');
  assert.deepEqual(disconnects.payloads, [], 'without a disconnect');
}

/** Rewrites `file` in the work folder with `edit` applied to its text. */
function edit(file, change) {
  const at = path.join(work, file);
  fs.writeFileSync(at, change(fs.readFileSync(at, 'utf8')));
}

test('halo dev finds both views, builds them and serves them', { skip: SKIP }, async () => {
  assert.match(halo.logs(), /halo dev: 2 views in .*: chores \(Python\), shop-items \(JavaScript\)/);
  assert.match(halo.logs(), /built shop-items in \d+\.\ds/);
  assert.match(halo.logs(), /built chores in \d+\.\ds/);
  const item = await ok(client, 'ShopItems:create', { title: ' Milk ' });
  assert.deepEqual(item, { id: item.id, title: 'Milk', done: false, author: 'alice' });
  const chore = await ok(client, 'Chores:create', { title: ' Dishes ' });
  assert.deepEqual(chore, { id: chore.id, title: 'Dishes', done: false, author: 'alice' });
  const page = await (await fetch(`${halo.url}/`)).text();
  assert.match(page, /<code>ShopItems<\/code>/);
  assert.match(page, /<code>Chores<\/code>/);
});

test('a save of the JavaScript view rebuilds and reloads it', { skip: SKIP }, async () => {
  edit('shop-items/view.js', (text) => text.replace("'an item needs a title'", "'a shop item needs a title'"));
  await eventually(
    async () => assert.equal((await call(client, 'ShopItems:create', { title: ' ' })).err?.message, 'a shop item needs a title'),
    REBUILD_MS,
    250
  );
  assert.match(halo.logs(), /built shop-items in \d+\.\ds → reloading/);
  assert.equal((await ok(client, 'ShopItems:list', [])).length, 1, 'the data stays');
  assertSameConnection();
});

test('a JavaScript syntax error is shown with its line; the last build keeps serving until a fix', { skip: SKIP }, async () => {
  const mark = halo.logs().length;
  edit('shop-items/view.js', (text) => `${text}\nthis is not javascript (\n`);
  await eventually(
    () => assert.match(halo.logs().slice(mark), /shop-items failed to build; still serving the previous build/),
    REBUILD_MS,
    250
  );
  assert.match(halo.logs().slice(mark), /view\.js:\d+/);
  assert.equal((await call(client, 'ShopItems:create', { title: ' ' })).err?.message, 'a shop item needs a title');
  edit('shop-items/view.js', (text) => text.replace('this is not javascript (', '// fixed'));
  await eventually(() => assert.match(halo.logs().slice(mark), /built shop-items in \d+\.\ds/), REBUILD_MS, 250);
  assertSameConnection();
});

test('a save of the Python view rebuilds and reloads it; a broken one keeps the last build', { skip: SKIP }, async () => {
  edit('chores/chores.py', (text) => text.replace('"an item needs a title"', '"a chore needs a title"'));
  await eventually(
    async () => assert.equal((await call(client, 'Chores:create', { title: ' ' })).err?.message, 'a chore needs a title'),
    REBUILD_MS,
    250
  );
  const mark = halo.logs().length;
  edit('chores/chores.py', (text) => `${text}\ndef broken(:\n`);
  await eventually(
    () => assert.match(halo.logs().slice(mark), /chores failed to build; still serving the previous build/),
    REBUILD_MS,
    250
  );
  assert.match(halo.logs().slice(mark), /SyntaxError/);
  assert.equal((await call(client, 'Chores:create', { title: ' ' })).err?.message, 'a chore needs a title');
  assertSameConnection();
});
