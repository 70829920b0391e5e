// Client operation ids: a write sent again with the same `$op` (a retry
// after a lost ack, maybe on a new connection) is answered with the first
// answer and applied once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHalo, connect, call, ok, nextEvent, disconnectAll, printLogsOnFailure } from './harness.mjs';

let halo;

before(async () => {
  halo = await startHalo({ plugins: ['todos'] });
});

after(async () => {
  disconnectAll();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

test('a create repeated with the same operation id is applied once and answered alike', async () => {
  const a = await connect(halo.url);
  const first = await ok(a, 'Todos:create', { title: 'once', $op: 'session-1:1' });
  const again = await ok(a, 'Todos:create', { title: 'once', $op: 'session-1:1' });
  assert.deepEqual(again, first);
  assert.ok(!('$op' in first), 'the operation id is not stored');
  const all = await ok(a, 'Todos:list');
  assert.equal(all.filter((t) => t.title === 'once').length, 1);
  // Another id is another operation.
  const other = await ok(a, 'Todos:create', { title: 'once', $op: 'session-1:2' });
  assert.notEqual(other.id, first.id);
});

test('a retry on a new connection after the first one dropped gets the first answer and its subscription', async () => {
  const a = await connect(halo.url);
  const created = await ok(a, 'Todos:create', { title: 'retried', $op: 'session-2:1' });
  a.disconnect();

  const b = await connect(halo.url);
  const retried = await ok(b, 'Todos:create', { title: 'retried', $op: 'session-2:1' });
  assert.equal(retried.id, created.id);
  assert.equal((await ok(b, 'Todos:list')).filter((t) => t.title === 'retried').length, 1);

  // The retry subscribed b to the model, as the create would have.
  const c = await connect(halo.url);
  const heard = nextEvent(b, `Todos/${created.id}:serverchange`);
  await ok(c, 'Todos:update', { id: created.id, title: 'changed' });
  assert.equal((await heard).title, 'changed');
});

test('a repeated failure is answered with the same error, and a malformed id is refused', async () => {
  const a = await connect(halo.url);
  const first = await call(a, 'Todos:update', { id: 'nope', title: 'x', $op: 'session-3:1' });
  const again = await call(a, 'Todos:update', { id: 'nope', title: 'x', $op: 'session-3:1' });
  assert.equal(first.err?.code, 'not_found');
  assert.deepEqual(again.err, first.err);
  for (const op of [5, '', 'x'.repeat(129)]) {
    const { err } = await call(a, 'Todos:create', { title: 'x', $op: op });
    assert.equal(err?.code, 'invalid', JSON.stringify(op));
    assert.match(err.message, /\$op must be a string/);
  }
});

test('reads ignore operation ids, and an id repeats only the same event', async () => {
  const a = await connect(halo.url);
  const todo = await ok(a, 'Todos:create', { title: 'first', $op: 'session-4:1' });
  assert.equal((await ok(a, 'Todos:read', { id: todo.id, $op: 'session-4:2' })).title, 'first');
  await ok(a, 'Todos:update', { id: todo.id, title: 'second' });
  // Read afresh, not answered from memory.
  assert.equal((await ok(a, 'Todos:read', { id: todo.id, $op: 'session-4:2' })).title, 'second');
  // The create's id used for an update is another operation, which applies.
  const updated = await ok(a, 'Todos:update', { id: todo.id, title: 'third', $op: 'session-4:1' });
  assert.equal(updated.title, 'third');
});
