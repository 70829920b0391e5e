// Pushes through a view that renders per client: the host renders a push for
// many audiences in batches, and a render that fails must hide the model
// from its own audience only, whichever batch it falls in.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHalo, connect, disconnectAll, ok, nextEvent, nextEventWhere, printLogsOnFailure } from './harness.mjs';

let halo;

before(async () => {
  halo = await startHalo({ plugins: ['rendered_models'] });
});

after(async () => {
  disconnectAll();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

test('a render that traps for one audience hides the push from it alone; the rest get theirs', async () => {
  const writer = await connect(halo.url, { auth: { user: 'writer' } });
  const model = await ok(writer, 'RenderedModels:create', { someProperty: 'calm' });
  // More audiences than one render batch holds, so the failing render shares
  // a batch with others, and another batch succeeds whole.
  const readers = await Promise.all(
    Array.from({ length: 70 }, async (_, i) => {
      const user = `u${i}`;
      const socket = await connect(halo.url, { auth: { user } });
      const seen = await ok(socket, 'RenderedModels:read', { id: model.id });
      assert.equal(seen.viewer, user);
      return socket;
    })
  );
  // The trapping audience lists the view: a model that stops being visible
  // to a client is taken out of its list, which it is told.
  const trap = await connect(halo.url, { auth: { user: 'trap' } });
  const listed = await ok(trap, 'RenderedModels:list', []);
  assert.deepEqual(listed, [{ ...model, viewer: 'trap' }]);

  const event = `RenderedModels/${model.id}:serverchange`;
  const changes = readers.map((socket) =>
    nextEventWhere(socket, event, (change) => change.someProperty === 'boom', 10_000)
  );
  const removed = nextEvent(trap, 'RenderedModels:serverremove', 10_000);
  await ok(writer, 'RenderedModels:update', { id: model.id, someProperty: 'boom' });

  for (const change of await Promise.all(changes)) {
    assert.deepEqual(change, { id: model.id, someProperty: 'boom' });
  }
  assert.deepEqual(await removed, [{ id: model.id }]);
  // The view still serves everyone else.
  const again = await ok(readers[0], 'RenderedModels:read', { id: model.id });
  assert.deepEqual(again, { id: model.id, someProperty: 'boom', viewer: 'u0' });
});
