// A view that sets `connect` decides who may connect at all: a refused
// client gets Socket.IO's connect_error with the view's reason.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHalo, connect, attempt, disconnectAll, ok, printLogsOnFailure } from './harness.mjs';

let halo;

before(async () => {
  halo = await startHalo({ plugins: ['gate'] });
});

after(async () => {
  disconnectAll();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

const refusal = (auth) => attempt(halo.url, { auth });

test('a client without the claim the view asks for is refused with its reason', async () => {
  const err = await refusal({});
  assert.ok(err, 'the connection was refused');
  assert.equal(err.message, 'forbidden: no pass, no entry');
  const wrong = await refusal({ pass: 'please' });
  assert.equal(wrong?.message, 'forbidden: no pass, no entry');
});

test('a client with the claim connects and is served', async () => {
  assert.equal(await refusal({ pass: 'open sesame' }), null);
  const client = await connect(halo.url, { auth: { pass: 'open sesame' } });
  assert.deepEqual(await ok(client, 'Gate:list', []), []);
});
