// The write path: writes are serializable per tenant (a read-then-write
// handler never loses an update), a connection's requests pipeline (the next
// starts before the previous is durable) yet are acked in arrival order, and
// in either durability mode every acked write survives a kill -9.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHalo, connect, disconnectAll, call, ok, printLogsOnFailure } from './harness.mjs';

let halo;
after(async () => {
  disconnectAll();
  await halo?.stop();
});
printLogsOnFailure(() => halo);

/** Emits `event` with `data` and resolves to the ack, without waiting before the next emit. */
function send(socket, event, data) {
  return call(socket, event, data, 60_000);
}

test('8 clients incrementing one counter 500 times each end at exactly 4000, every ack a distinct value', async () => {
  halo = await startHalo({ plugins: ['counter'] });
  const first = await connect(halo.url);
  const counter = await ok(first, 'Counters:create', {});
  const clients = [first];
  for (let i = 1; i < 8; i++) clients.push(await connect(halo.url));
  const values = [];
  await Promise.all(
    clients.map(async (socket) => {
      // Four in flight per client, as a busy app would have.
      let left = 500;
      const lane = async () => {
        while (left > 0) {
          left--;
          const { err, result } = await send(socket, 'Counters:increment', { id: counter.id });
          assert.equal(err, null, JSON.stringify(err));
          values.push(result.value);
        }
      };
      await Promise.all([lane(), lane(), lane(), lane()]);
    }),
  );
  const stored = await ok(first, 'Counters:read', { id: counter.id });
  assert.equal(stored.value, 4000);
  assert.equal(values.length, 4000);
  assert.equal(new Set(values).size, 4000, 'no two increments read the same value');
  assert.deepEqual([...values].sort((a, b) => a - b), Array.from({ length: 4000 }, (_, i) => i + 1));
  await halo.stop();
  halo = null;
});

test('pipelined requests of one connection apply and are acked in arrival order, and subscribers see them in that order', async () => {
  halo = await startHalo({ plugins: ['counter', 'todos'] });
  const writer = await connect(halo.url);
  const watcher = await connect(halo.url);
  const counter = await ok(writer, 'Counters:create', {});
  const todo = await ok(writer, 'Todos:create', { title: 'v0' });
  await ok(watcher, 'Todos:read', { id: todo.id });
  const seen = [];
  const lastSeen = new Promise((resolve) => {
    watcher.on(`Todos/${todo.id}:serverchange`, (change) => {
      seen.push(change.title);
      if (change.title === 'v40') resolve();
    });
  });

  // Every emit goes out before any ack comes back.
  const acked = [];
  const pending = [];
  for (let i = 1; i <= 40; i++) {
    const increment = send(writer, 'Counters:increment', { id: counter.id });
    const update = send(writer, 'Todos:update', { id: todo.id, title: `v${i}` });
    pending.push(increment.then((ack) => acked.push(['increment', ack.result?.value])));
    pending.push(update.then((ack) => acked.push(['update', ack.result?.title])));
  }
  await Promise.all(pending);
  const expected = [];
  for (let i = 1; i <= 40; i++) expected.push(['increment', i], ['update', `v${i}`]);
  assert.deepEqual(acked, expected, 'each request saw the one before it, and acks kept their order');

  await lastSeen;
  assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => `v${i + 1}`));
  await halo.stop();
  halo = null;
});

for (const durability of ['disk', 'process']) {
  test(`with durability ${durability}, every acked write survives a kill -9 mid-load`, async () => {
    halo = await startHalo({ plugins: ['todos'], args: ['--durability', durability] });
    const { dataDir } = halo;
    const clients = [];
    for (let i = 0; i < 4; i++) clients.push(await connect(halo.url));
    const acked = [];
    let stop = false;
    let enough;
    const reached = new Promise((resolve) => (enough = resolve));
    const writers = clients.map(async (socket, n) => {
      for (let i = 0; !stop; i++) {
        const { err, result } = await call(socket, 'Todos:create', { title: `w${n}-${i}` }, 5_000).catch(() => ({
          err: 'gone',
        }));
        if (err) return;
        acked.push(result.id);
        if (acked.length === 200) enough();
      }
    });
    // Killed once a fair number of writes are acked, while more are in flight.
    await Promise.race([reached, Promise.all(writers)]);
    assert.ok(acked.length >= 200, `only ${acked.length} writes were acked before the writers stopped`);
    halo.kill('SIGKILL');
    await halo.exited();
    stop = true;
    await Promise.all(writers);
    disconnectAll();

    halo = await startHalo({ plugins: ['todos'], dataDir, args: ['--durability', durability] });
    const reader = await connect(halo.url);
    const stored = new Set((await ok(reader, 'Todos:list', [])).map((t) => t.id));
    const lost = acked.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acked writes lost`);
    await halo.stop();
    halo = null;
  });
}
