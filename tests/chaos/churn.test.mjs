// Connection floods and churn: waves of clients that connect, make a
// request and go; a flood of handshakes that never join; and connections
// dropped mid-request. Afterwards the host's file descriptors, threads and
// memory are back near where they started (generous bounds: allocators keep
// some memory, and no wall-clock is measured).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { startHalo, printLogsOnFailure } from '../e2e/harness.mjs';
import { rawSocket, rawCall, haloPid, usage, connections, until } from './raw.mjs';

const WAVES = Number(process.env.HALO_CHAOS_WAVES || 5);
const PER_WAVE = Number(process.env.HALO_CHAOS_PER_WAVE || 100);

let halo;
after(() => halo?.stop());
printLogsOnFailure(() => halo);

test(`${WAVES} waves of ${PER_WAVE} connections, a handshake flood and dropped requests leave nothing behind`, async (t) => {
  halo = await startHalo({ plugins: ['my_models'], args: ['--handshake-timeout-secs', '1', '--max-handshakes', '200'] });
  const pid = haloPid(halo.port);
  // One wave first, so pools the host keeps are in the baseline.
  const warm = await Promise.all(Array.from({ length: PER_WAVE }, () => rawSocket(halo.url)));
  for (const raw of warm) raw.ws.close();
  await until(async () => assert.equal(await connections(halo.url), 0));
  const before = usage(pid);

  for (let wave = 0; wave < WAVES; wave++) {
    const sockets = await Promise.all(Array.from({ length: PER_WAVE }, () => rawSocket(halo.url)));
    await Promise.all(sockets.map((raw, i) => rawCall(raw, 1, 'MyModels:create', { wave, i })));
    // Half leave politely, half vanish mid-request.
    sockets.forEach((raw, i) => {
      if (i % 2) {
        raw.send(`422${JSON.stringify(['MyModels:list', []])}`);
        raw.ws.terminate();
      } else raw.ws.close();
    });
  }
  // A flood of handshakes that never join: refused past the cap, dropped
  // after the handshake timeout.
  const flood = await Promise.allSettled(Array.from({ length: 300 }, () => rawSocket(halo.url, { join: false })));
  const opened = flood.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  assert.ok(opened.length <= 200, `${opened.length} handshakes were let in past the cap of 200`);
  await Promise.all(opened.map((raw) => raw.whenClosed(20_000)));

  await until(async () => assert.equal(await connections(halo.url), 0), 20_000);
  await until(() => assert.ok(usage(pid).fds <= before.fds + 4, `fds ${usage(pid).fds} vs ${before.fds}`), 20_000);
  // Threads the runtime started for blocking work (the store's reads) stay
  // up to 10 s idle before they exit.
  await until(() => assert.ok(usage(pid).threads <= before.threads + 4, `threads ${usage(pid).threads} vs ${before.threads}`), 30_000);
  const end = usage(pid);
  t.diagnostic(`before: ${JSON.stringify(before)}; after: ${JSON.stringify(end)}`);
  assert.ok(end.rss <= before.rss + 64 * 2 ** 20, `RSS ${end.rss} vs ${before.rss}`);
  const raw = await rawSocket(halo.url);
  assert.equal((await rawCall(raw, 1, 'MyModels:list', []))[0], null, 'still serving');
});
