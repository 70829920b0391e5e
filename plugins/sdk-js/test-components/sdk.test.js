// The SDKs inside a component behave as they do in process: one view that
// uses every part of the SDK (fixtures/everything.js) answers the same
// script run in process, built for halo:view@0.1.0 and built for 0.2.0, both
// run in node through jco against the in-memory host; and so does its
// Python twin (plugins/sdk-py/tests/fixtures/everything.py), built with
// build/venv's halo-view-build-py (skipped without it).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from '../src/build.js';
import * as t from '../src/testing/index.js';
import { loadComponent } from '../src/testing/component.js';
import everything from './fixtures/everything.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(HERE, 'fixtures/everything.js');
const REPO = path.resolve(HERE, '../../..');
const PY_FIXTURE = path.join(REPO, 'plugins/sdk-py/tests/fixtures/everything.py');
const PY_BUILD = path.join(REPO, 'build/venv/bin/halo-view-build-py');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'halo-sdk-components-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const user = new t.Client('c1', 'acme', { user: 'alice', n: 1 });
const root = new t.Client('c2', 'acme', { user: 'root' });
const nobody = new t.Client('c3', 'acme', {});

function outcome(fn) {
  try {
    return { ok: fn() };
  } catch (err) {
    return { code: err.code, message: err.message };
  }
}

/**
 * The script, with what every target must answer. `console` says what a
 * `console.log` (JS) left in the log: nothing in process, where node's
 * console prints it; Python's `print` goes to stdout, never to the log.
 */
function check(view, { console: viaConsole = [], bug = /TypeError/ } = {}) {
  t.reset();
  t.insert('things', { id: 'a', color: 'red', n: 1 });
  t.insert('things', { id: 'b', color: 'red', n: 2 });
  t.insert('things', { id: 's', secret: true });

  assert.deepEqual(t.spec(view), {
    name: 'Everything',
    collection: 'things',
    defaults: { n: 0 },
    routes: ['create', 'read', 'list', 'delete', 'query', 'touch', 'drop', 'shout', 'fail', 'bad-collection', 'bad-event', 'crash', 'whoami', 'echo'],
    handlers: ['query', 'touch', 'drop', 'shout', 'fail', 'bad-collection', 'bad-event', 'crash', 'whoami', 'echo'],
    renderPerClient: true,
    connect: true,
  });

  const q = t.call(view, 'query', user, { id: 'b' });
  assert.deepEqual(q.all.map((m) => m.id), ['a', 'b', 's']);
  assert.deepEqual(q.red.map((m) => m.id), ['a']);
  assert.equal(q.none, null);
  assert.deepEqual(q.one, { id: 'b', color: 'red', n: 2 });

  assert.deepEqual(outcome(() => t.call(view, 'touch', user, { id: 7, n: 5 })), { code: 'not_found', message: 'no model "7" in "things"' });
  assert.deepEqual(t.call(view, 'touch', user, { id: 'a', n: 5, color: 'blue' }), { id: 'a', color: 'red', n: 5 });
  assert.deepEqual(t.call(view, 'drop', user, { id: 'b' }), { existed: true });
  assert.deepEqual(t.call(view, 'drop', user, { id: 'b' }), { existed: false });

  assert.equal(t.call(view, 'shout', user, [1, 'two']), null);
  assert.deepEqual(t.takeEvents(), [
    { to: 'subscribers', name: 'Everything:shouted', data: [1, 'two'] },
    { to: 'client', connection: 'c1', name: 'Everything:direct', data: { to: 'c1' } },
  ]);
  const lines = t.logs().map((l) => `${l.level} ${l.message}`);
  assert.deepEqual(lines, ['info shouting', ...viaConsole]);

  assert.deepEqual(outcome(() => t.call(view, 'fail', user)), { code: 'unavailable', message: 'later' });
  assert.deepEqual(outcome(() => t.call(view, 'bad-collection', user)), { code: 'invalid', message: 'collection names are 1 to 128 characters' });
  assert.deepEqual(outcome(() => t.call(view, 'bad-event', user)), { code: 'invalid', message: "event names are 1 to 64 characters without ':' or '/'" });
  assert.equal(t.models('things').length, 2, 'failed calls wrote nothing');

  assert.deepEqual(t.call(view, 'whoami', user, null), { id: 'c1', tenant: 'acme', claims: { user: 'alice', n: 1 }, user: 'alice', action: 'whoami' });
  for (const data of [null, 0, 'text', [], { deep: { list: [1.5, true, null, 'é'] } }]) {
    assert.deepEqual(t.call(view, 'echo', user, data), data);
  }

  // Built-ins through the render function: the secret is root's alone.
  assert.deepEqual(t.call(view, 'list', user).map((m) => m.id), ['a']);
  assert.deepEqual(t.call(view, 'list', root).map((m) => m.id), ['a', 's']);
  assert.deepEqual(outcome(() => t.call(view, 'read', user, { id: 's' })).code, 'not_found');
  const created = t.call(view, 'create', user, { color: 'green' });
  assert.deepEqual(created, { id: created.id, n: 0, color: 'green' });

  assert.equal(t.connect(view, user), undefined);
  assert.deepEqual(outcome(() => t.connect(view, nobody)), { code: 'forbidden', message: 'sign in' });

  // A bug traps (in a component) or throws (in process), logged either way, and writes nothing.
  assert.throws(() => t.call(view, 'crash', user));
  assert.match(t.logs().at(-1).message, /Everything:crash failed/);
  assert.match(t.logs().at(-1).message, bug);
  assert.equal(t.models('things').length, 3);
}

test('in process', () => {
  check(everything);
});

for (const wit of ['0.1.0', '0.2.0']) {
  test(`built for halo:view@${wit}`, async () => {
    const file = path.join(scratch, `everything-${wit}.wasm`);
    await build({ view: FIXTURE, out: file, wit });
    check(await loadComponent(file), { console: ['info via console {"a":1}'] });
  });
}

test('the Python twin, built for halo:view@0.2.0', async (ctx) => {
  if (!existsSync(PY_BUILD)) return ctx.skip(`no ${PY_BUILD}: make views-setup`);
  const file = path.join(scratch, 'everything-py.wasm');
  execFileSync(PY_BUILD, [PY_FIXTURE, '-o', file], { stdio: 'ignore' });
  check(await loadComponent(file), { bug: /TypeError: 'NoneType' object is not subscriptable/ });
});
