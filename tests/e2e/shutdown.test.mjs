// SIGTERM and Ctrl-C stop halo gracefully: no new requests, those in flight
// finish and are acked, the stores close, then the sockets; a second signal
// exits at once. No write that was acked is ever lost.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHalo,
  connect,
  attempt,
  disconnectAll,
  ok,
  call,
  within,
  eventually,
  printLogsOnFailure,
} from './harness.mjs';

let halo;
const servers = [];
after(async () => {
  disconnectAll();
  for (const server of servers) await server.stop();
});
printLogsOnFailure(() => halo);

/** Resolves once `socket` has seen its connection close. */
const closed = (socket) => new Promise((resolve) => socket.once('disconnect', resolve));

/**
 * Starts halo with tenant `t` serving the spin view; data over 100 bytes is
 * refused there as each event arrives, which `takenIn` relies on.
 */
async function spinningHalo(args) {
  halo = await startHalo({ tenants: { t: { plugins: ['spin'], toml: '[limits]\nmax_payload = 100\n' } }, args });
  servers.push(halo);
  return `${halo.url}/t`;
}

/**
 * Resolves once halo has taken in, to be finished before it stops, what
 * `socket` sent so far. Events are taken in as they arrive, in order, and
 * one over the payload limit is refused right there, not queued behind the
 * requests before it: its ack means those were taken in.
 */
async function takenIn(socket) {
  const { err } = await call(socket, 'Spin:list', 'x'.repeat(200));
  assert.equal(err?.limit, 'max_payload', `refused as it arrived: ${JSON.stringify(err)}`);
}

test('SIGTERM during a burst of writes loses no acked write', async () => {
  const tenants = { t: { plugins: ['todos', 'spin'], toml: '[limits]\nmax_payload = 100\n' } };
  const args = ['--plugin-deadline-ms', '1500'];
  halo = await startHalo({ tenants, args });
  servers.push(halo);
  const { dataDir } = halo;
  const url = `${halo.url}/t`;
  const clients = await Promise.all([1, 2, 3, 4].map(() => connect(url)));
  const held = await connect(url);
  const acked = [];
  let refused = 0;
  let firstAcks;
  const enough = new Promise((resolve) => (firstAcks = resolve));
  // 4 clients keeping 200 writes each in flight, a new one for every ack,
  // until the signal.
  let signalled = false;
  const write = (client, c, i) =>
    client.emit('Todos:create', { title: `c${c} w${i}` }, (err, todo) => {
      if (err) refused += 1;
      else acked.push(todo);
      if (acked.length === 100) firstAcks();
      if (!signalled) write(client, c, i + 200);
    });
  clients.forEach((client, c) => {
    for (let i = 0; i < 200; i++) write(client, c, i);
  });
  await within(enough, 10_000, 'the first 100 acks');
  // A client whose writes wait behind a call that spins to its deadline:
  // requests are in flight at the signal however fast the host got through
  // the burst.
  const spun = call(held, 'Spin:spin', {}, 10_000);
  const heldWrites = Array.from({ length: 20 }, (_, i) => call(held, 'Todos:create', { title: `held ${i}` }, 10_000));
  await takenIn(held);
  const ackedAtSignal = acked.length;
  const allClosed = Promise.all([...clients, held].map(closed));
  signalled = true;
  halo.kill('SIGTERM');
  const exit = await within(halo.exited(), 15_000, 'halo exits after SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, 'a clean exit');
  // Every ack sent before a connection closed has arrived once its client
  // saw it close; whatever was not acked by then stays unanswered.
  await within(allClosed, 5000, 'the clients see their connections close');
  const inFlight = Number(/in_flight=(\d+)/.exec(halo.logs())?.[1]);
  assert.ok(inFlight > heldWrites.length, `the held writes were among those in flight at the signal: ${inFlight}`);
  assert.equal((await spun).err?.code, 'plugin_failed', 'the spinning call ran to its deadline and was acked');
  for (const { err, result } of await Promise.all(heldWrites)) {
    assert.equal(err, null, 'a write waiting at the signal is finished and acked');
    acked.push(result);
  }
  assert.ok(acked.length > ackedAtSignal, `requests in flight were finished and acked: ${ackedAtSignal} acked at the signal, ${acked.length} in the end`);
  assert.equal(refused, 0, 'no write was answered with an error');
  assert.match(halo.logs(), /shutting down/);
  assert.match(halo.logs(), /stores closed/);
  disconnectAll();

  halo = await startHalo({ tenants, args, dataDir });
  servers.push(halo);
  const reader = await connect(`${halo.url}/t`);
  const stored = new Map((await ok(reader, 'Todos:list', [])).map((todo) => [todo.id, todo]));
  for (const todo of acked) assert.deepEqual(stored.get(todo.id), todo, `acked ${todo.title} is stored`);
});

test('a request in flight finishes and is acked; new ones wait for a host that is up; /readyz says shutting down', async () => {
  const url = await spinningHalo(['--plugin-deadline-ms', '1500']);
  const busy = await connect(url);
  const other = await connect(url);
  const slow = call(busy, 'Spin:spin', {}, 10_000);
  await takenIn(busy);
  halo.kill('SIGTERM');
  const ready = await eventually(async () => {
    const res = await fetch(`${halo.url}/readyz`);
    assert.equal(res.status, 503, '/readyz answers 503 while draining');
    return res;
  }, 5000, 20);
  assert.equal(await ready.text(), 'shutting down\n');
  // New sessions get a 503, which clients retry with backoff (a Socket.IO
  // refusal would make them give up for good).
  const handshake = await fetch(`${halo.url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(handshake.status, 503, 'a new session is refused while draining');
  assert.ok(await attempt(url), 'a new connection does not get through while draining');
  let lateAck = false;
  const otherClosed = closed(other);
  other.emit('Spin:list', [], () => (lateAck = true));
  const { err } = await slow;
  assert.equal(err.code, 'plugin_failed', 'the in-flight request ran to its deadline and was acked');
  const exit = await within(halo.exited(), 10_000, 'halo exits');
  assert.equal(exit.code, 0);
  // An ack sent before the connection closed would have arrived before the
  // close did.
  await within(otherClosed, 5000, 'the other client sees its connection close');
  assert.equal(lateAck, false, 'a request sent while draining is not acked: the client sends it again after reconnecting');
});

test('a second signal exits at once, without waiting for requests in flight', async () => {
  const url = await spinningHalo(['--plugin-deadline-ms', '20000', '--shutdown-grace-secs', '30']);
  const busy = await connect(url);
  busy.emit('Spin:spin', {}, () => {});
  await takenIn(busy);
  halo.kill('SIGTERM');
  await eventually(async () => assert.equal((await fetch(`${halo.url}/readyz`)).status, 503, 'draining'), 5000, 20);
  halo.kill('SIGTERM');
  const exit = await within(halo.exited(), 5_000, 'halo exits on the second signal');
  assert.equal(exit.code, 130);
  assert.match(halo.logs(), /second signal, exiting now/);
});
