// Clients that stop reading, read slowly, die silently or never finish
// their handshake: each is dropped, its memory comes back, and a client
// that was dropped for falling behind resyncs when it reads again.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { startHalo } from '../e2e/harness.mjs';
import { rawSocket, rawCall, haloPid, usage, connections, until, within } from './raw.mjs';

const require = createRequire(import.meta.url);
const { io } = require('socket.io-client');

const servers = [];
after(async () => {
  for (const halo of servers) await halo.stop();
});
async function start(args = []) {
  const halo = await startHalo({ plugins: ['my_models'], args });
  servers.push(halo);
  return halo;
}

const PUSH = 'p'.repeat(100 * 1024);

/** A subscriber to MyModels that stops reading its TCP connection. */
async function stuckSubscriber(url, { pong = true } = {}) {
  const raw = await rawSocket(url, { pong });
  const [err] = await rawCall(raw, 1, 'MyModels:list', []);
  assert.equal(err, null);
  raw.ws._socket.pause();
  return raw;
}

test('two stuck subscribers under 100 KiB pushes are disconnected, and hold little memory', async (t) => {
  const halo = await start();
  const pid = haloPid(halo.port);
  const writer = await rawSocket(halo.url);
  // Warm up: the same pushes, read, so allocator pools exist before the baseline.
  const reader = await rawSocket(halo.url);
  await rawCall(reader, 1, 'MyModels:list', []);
  for (let i = 0; i < 20; i++) await rawCall(writer, 100 + i, 'MyModels:create', { i, data: PUSH });
  reader.ws.close();
  await until(async () => assert.equal(await connections(halo.url), 1));
  const before = usage(pid);

  const stuck = [await stuckSubscriber(halo.url), await stuckSubscriber(halo.url)];
  // Until the kernel's socket buffers (loopback autotuning lets them grow
  // to several MiB, more on some machines) and then the 1 MiB send buffer
  // are full and the host drops both; bounded: 400 pushes are 40 MiB.
  let pushes = 0;
  for (; pushes < 400 && (await connections(halo.url)) > 1; pushes++) {
    const [err] = await rawCall(writer, 200 + pushes, 'MyModels:create', { i: pushes, data: PUSH });
    assert.equal(err, null);
  }
  // Both were dropped: only the writer is left.
  await until(async () => assert.equal(await connections(halo.url), 1), 20_000);
  const during = usage(pid);
  const growth = during.rss - before.rss;
  t.diagnostic(`RSS before ${(before.rss / 2 ** 20).toFixed(1)} MiB, with 2 stuck subscribers after ${pushes} pushes of 100 KiB ${(during.rss / 2 ** 20).toFixed(1)} MiB: ${(growth / 2 ** 20 / 2).toFixed(1)} MiB per stuck subscriber`);
  assert.ok(growth < 64 * 2 ** 20, `RSS grew by ${growth} bytes`);
  // Reading again, each finds its connection reset or closed.
  for (const raw of stuck) {
    raw.ws._socket.resume();
    await raw.whenClosed(20_000);
  }
  assert.ok(usage(pid).fds <= before.fds + 2, 'their file descriptors are closed');
});

test('a slow reader that falls behind is disconnected, reconnects and resyncs to the latest state', async () => {
  const halo = await start(['--send-buffer-bytes', String(256 * 1024)]);
  const writer = await rawSocket(halo.url);
  const slow = io(halo.url, { transports: ['websocket'], forceNew: true, reconnectionDelay: 100 });
  await within(new Promise((resolve) => slow.once('connect', resolve)), 10_000, 'no connect');
  const list = () => new Promise((resolve) => slow.emit('MyModels:list', [], (err, models) => resolve(models)));
  await list();
  const dropped = new Promise((resolve) => slow.once('disconnect', resolve));
  slow.io.engine.transport.ws._socket.pause();
  // Until the kernel's buffers and then the send buffer are full, and the
  // host drops it (bounded: 400 pushes are 40 MiB).
  for (let i = 0; i < 400 && (await connections(halo.url)) > 1; i++) {
    await rawCall(writer, 1000 + i, 'MyModels:create', { i, data: PUSH });
  }
  const [, last] = await rawCall(writer, 99, 'MyModels:create', { mark: 'latest' });
  slow.io.engine.transport.ws._socket.resume();
  const reason = await within(dropped, 20_000, 'the slow reader was not disconnected');
  assert.match(reason, /transport (close|error)/);
  // socket.io-client reconnects by itself after a transport failure; a
  // refetch sees everything stored, the latest write included.
  await within(new Promise((resolve) => slow.once('connect', resolve)), 20_000, 'no reconnect');
  const models = await list();
  assert.ok(models.some((m) => m.id === last.id), 'the refetch has the latest write');
  slow.disconnect();
});

test('a dead peer (TCP open, nothing read, no pong) is gone within the ping timeout', async () => {
  const halo = await start(['--ping-interval-secs', '1', '--ping-timeout-secs', '1']);
  const pid = haloPid(halo.port);
  const before = usage(pid);
  const dead = await stuckSubscriber(halo.url, { pong: false });
  assert.equal(await connections(halo.url), 1);
  await until(async () => assert.equal(await connections(halo.url), 0), 15_000);
  await until(() => assert.ok(usage(pid).fds <= before.fds, 'its socket is closed'), 15_000);
  dead.ws._socket.resume();
  await dead.whenClosed();
});

test('a handshake that never joins a namespace is closed after --handshake-timeout-secs', async () => {
  const halo = await start(['--handshake-timeout-secs', '1']);
  const raw = await rawSocket(halo.url, { join: false });
  await raw.whenClosed(15_000);
  // A prompt one is served as usual.
  const fine = await rawSocket(halo.url);
  const [err] = await rawCall(fine, 1, 'MyModels:list', []);
  assert.equal(err, null);
});

test('handshakes that have not joined count against --max-handshakes; more get 503 until they go', async () => {
  const halo = await start(['--max-handshakes', '3', '--handshake-timeout-secs', '2']);
  const waiting = [];
  for (let i = 0; i < 3; i++) waiting.push(await rawSocket(halo.url, { join: false }));
  const refused = await fetch(`${halo.url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(refused.status, 503);
  await assert.rejects(rawSocket(halo.url, { join: false }), /503/);
  // Joining frees a place at once.
  waiting[0].send('40');
  await waiting[0].next('40');
  const joined = await fetch(`${halo.url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(joined.status, 200);
  await joined.text();
  // And the others' places come back when the handshake timeout drops them.
  await waiting[1].whenClosed(15_000);
  await waiting[2].whenClosed(15_000);
  const later = await rawSocket(halo.url);
  assert.equal((await rawCall(later, 1, 'MyModels:list', []))[0], null);
});
