// SIGTERM and Ctrl-C stop halo gracefully: no new requests, those in flight
// finish and are acked, the stores close, then the sockets; a second signal
// exits at once. No write that was acked is ever lost.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHalo, connect, attempt, disconnectAll, ok, call, within, printLogsOnFailure } from './harness.mjs';

let halo;
const servers = [];
after(async () => {
  disconnectAll();
  for (const server of servers) await server.stop();
});
printLogsOnFailure(() => halo);

test('SIGTERM during a burst of writes loses no acked write', async () => {
  halo = await startHalo({ plugins: ['todos'] });
  servers.push(halo);
  const { dataDir } = halo;
  const clients = await Promise.all([1, 2, 3, 4].map(() => connect(halo.url)));
  const acked = [];
  let answered = 0;
  let refused = 0;
  let firstAcks;
  const enough = new Promise((resolve) => (firstAcks = resolve));
  // 4 clients × 200 writes sent without waiting: a burst the host is
  // still working through when the signal comes.
  const writes = clients.flatMap((client, c) =>
    Array.from({ length: 200 }, (_, i) =>
      new Promise((resolve) => {
        client.emit('Todos:create', { title: `c${c} w${i}` }, (err, todo) => {
          answered += 1;
          if (err) refused += 1;
          else acked.push(todo);
          if (acked.length === 100) firstAcks();
          resolve();
        });
      }),
    ),
  );
  await within(enough, 10_000, 'the first 100 acks');
  const ackedAtSignal = acked.length;
  halo.kill('SIGTERM');
  const exit = await within(halo.exited(), 15_000, 'halo exits after SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, 'a clean exit');
  // Whatever was not acked before the sockets closed stays unanswered.
  await Promise.race([Promise.all(writes), new Promise((resolve) => setTimeout(resolve, 500))]);
  const inFlight = Number(/in_flight=(\d+)/.exec(halo.logs())?.[1]);
  assert.ok(inFlight > 0, `requests were in flight at the signal: ${inFlight}`);
  assert.ok(acked.length > ackedAtSignal, `requests in flight were finished and acked: ${ackedAtSignal} acked at the signal, ${acked.length} in the end`);
  assert.equal(refused, 0, 'no write was answered with an error');
  assert.match(halo.logs(), /shutting down/);
  assert.match(halo.logs(), /stores closed/);
  disconnectAll();

  halo = await startHalo({ plugins: ['todos'], dataDir });
  servers.push(halo);
  const reader = await connect(halo.url);
  const stored = new Map((await ok(reader, 'Todos:list', [])).map((todo) => [todo.id, todo]));
  for (const todo of acked) assert.deepEqual(stored.get(todo.id), todo, `acked ${todo.title} is stored`);
});

test('a request in flight finishes and is acked; new ones wait for a host that is up; /readyz says shutting down', async () => {
  halo = await startHalo({ plugins: ['spin'], args: ['--plugin-deadline-ms', '1500'] });
  servers.push(halo);
  const busy = await connect(halo.url);
  const other = await connect(halo.url);
  const slow = call(busy, 'Spin:spin', {}, 10_000);
  // Let the spin start before the signal.
  await new Promise((resolve) => setTimeout(resolve, 500));
  halo.kill('SIGTERM');
  let ready;
  for (let i = 0; i < 50; i++) {
    ready = await fetch(`${halo.url}/readyz`).catch(() => null);
    if (ready?.status === 503) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(ready?.status, 503, '/readyz answers 503 while draining');
  assert.equal(await ready.text(), 'shutting down\n');
  // New sessions get a 503, which clients retry with backoff (a Socket.IO
  // refusal would make them give up for good).
  const handshake = await fetch(`${halo.url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(handshake.status, 503, 'a new session is refused while draining');
  assert.ok(await attempt(halo.url), 'a new connection does not get through while draining');
  let lateAck = false;
  other.emit('Spin:list', [], () => (lateAck = true));
  const { err } = await slow;
  assert.equal(err.code, 'plugin_failed', 'the in-flight request ran to its deadline and was acked');
  const exit = await within(halo.exited(), 10_000, 'halo exits');
  assert.equal(exit.code, 0);
  assert.equal(lateAck, false, 'a request sent while draining is not acked: the client sends it again after reconnecting');
});

test('a second signal exits at once, without waiting for requests in flight', async () => {
  halo = await startHalo({ plugins: ['spin'], args: ['--plugin-deadline-ms', '20000', '--shutdown-grace-secs', '30'] });
  servers.push(halo);
  const busy = await connect(halo.url);
  busy.emit('Spin:spin', {}, () => {});
  await new Promise((resolve) => setTimeout(resolve, 300));
  halo.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal((await fetch(`${halo.url}/readyz`)).status, 503, 'draining');
  halo.kill('SIGTERM');
  const exit = await within(halo.exited(), 5_000, 'halo exits on the second signal');
  assert.equal(exit.code, 130);
  assert.match(halo.logs(), /second signal, exiting now/);
});
