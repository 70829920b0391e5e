// A data folder that fills up: on a small tmpfs (mounted here; the test is
// skipped where mounting is not allowed), writes get `unavailable`, nothing
// acked is lost, and halo serves writes again once there is room.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import { startHalo, tempDir, printLogsOnFailure } from '../e2e/harness.mjs';
import { rawSocket, rawCall } from './raw.mjs';

let halo;
let mounted;
after(async () => {
  await halo?.stop();
  if (mounted) execFileSync('umount', ['-l', mounted]);
});
printLogsOnFailure(() => halo);

function mount(dir, size) {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return String(err.stderr || err.message).trim();
  }
}

const resize = (dir, size) => execFileSync('mount', ['-o', `remount,size=${size}`, dir]);
const used = (dir) => Number(execFileSync('df', ['-B1', '--output=used', dir]).toString().split('\n')[1]);

const cannot = (() => {
  const probe = tempDir('halo-mount-probe-');
  const why = mount(probe, '1m');
  if (!why) execFileSync('umount', [probe]);
  return why && `cannot mount a tmpfs here: ${why}`;
})();

test('a full disk: writes are unavailable, nothing acked is lost, and writes come back with room', { skip: cannot || false }, async () => {
  const data = tempDir('halo-small-disk-');
  assert.equal(mount(data, '256m'), null);
  mounted = data;
  halo = await startHalo({ plugins: ['my_models'], dataDir: data });
  const raw = await rawSocket(halo.url);
  const acked = [];
  // Leave about 2 MiB, then fill it.
  resize(data, `${used(data) + 2 * 2 ** 20}`);
  const chunk = 'd'.repeat(64 * 1024);
  let refused = null;
  for (let i = 0; i < 2000 && !refused; i++) {
    const [err] = await rawCall(raw, i + 1, 'MyModels:create', { mark: `full-${i}`, chunk });
    if (err) refused = err;
    else acked.push(`full-${i}`);
  }
  assert.ok(refused, 'the disk never filled');
  assert.equal(refused.code, 'unavailable', JSON.stringify(refused));
  // Room again.
  resize(data, '256m');
  let back = null;
  for (let i = 0; i < 50 && !back; i++) {
    const [err, model] = await rawCall(raw, 5000 + i, 'MyModels:create', { mark: 'after' });
    if (!err) back = model;
  }
  assert.ok(back, 'writes did not come back once there was room');
  const [, models] = await rawCall(raw, 9999, 'MyModels:list', []);
  const stored = new Set(models.map((m) => m.mark));
  assert.deepEqual(acked.filter((m) => !stored.has(m)), [], 'acked writes lost');
  // And across a restart too.
  await halo.restart();
  const again = await rawSocket(halo.url);
  const [, after] = await rawCall(again, 1, 'MyModels:list', []);
  const kept = new Set(after.map((m) => m.mark));
  assert.deepEqual([...acked, 'after'].filter((m) => !kept.has(m)), []);
});
