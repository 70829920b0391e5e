// SIGKILL under concurrent writes, in a loop: every write that was acked
// before the kill is found after the restart.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { startHalo, printLogsOnFailure } from '../e2e/harness.mjs';
import { rawSocket, rawCall } from './raw.mjs';

const ROUNDS = Number(process.env.HALO_CHAOS_KILLS || 3);
const WRITERS = 4;

let halo;
after(() => halo?.stop());
printLogsOnFailure(() => halo);

/** Writes until its connection dies; resolves to the marks that were acked. */
async function writeUntilKilled(url, who) {
  const acked = [];
  const raw = await rawSocket(url);
  let id = 0;
  for (;;) {
    const mark = `${who}-${id}`;
    try {
      const [err] = await Promise.race([
        rawCall(raw, ++id, 'MyModels:create', { mark }),
        raw.closed.then(() => {
          throw new Error('closed');
        }),
      ]);
      if (err === null) acked.push(mark);
    } catch {
      return acked;
    }
  }
}

test(`${ROUNDS} SIGKILLs under ${WRITERS} concurrent writers lose no acked write`, async (t) => {
  halo = await startHalo({ plugins: ['my_models'] });
  const everAcked = [];
  for (let round = 0; round < ROUNDS; round++) {
    const writers = Array.from({ length: WRITERS }, (_, w) => writeUntilKilled(halo.url, `r${round}w${w}`));
    // Kill once each writer has had a few writes acked.
    const probe = await rawSocket(halo.url);
    for (let i = 0; i < 20; i++) await rawCall(probe, i + 1, 'MyModels:list', []);
    halo.kill('SIGKILL');
    const exit = await halo.exited();
    assert.equal(exit.signal, 'SIGKILL');
    for (const acked of await Promise.all(writers)) everAcked.push(...acked);
    await halo.restart();
    const check = await rawSocket(halo.url);
    const [err, models] = await rawCall(check, 1, 'MyModels:list', []);
    assert.equal(err, null);
    const stored = new Set(models.map((m) => m.mark));
    const lost = everAcked.filter((mark) => !stored.has(mark));
    assert.deepEqual(lost, [], `acked writes lost after kill ${round + 1}`);
    check.ws.close();
  }
  t.diagnostic(`${everAcked.length} acked writes across ${ROUNDS} kills, none lost`);
  assert.ok(everAcked.length > 0);
});
