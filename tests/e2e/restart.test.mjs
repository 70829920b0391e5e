// What the server acked is still there after it stops and a new one starts on
// the same data directory.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHalo, connect, disconnectAll, ok, printLogsOnFailure } from './harness.mjs';

const PLUGINS = ['todos', 'my_models'];
let halo;

before(async () => {
  halo = await startHalo({ plugins: PLUGINS });
});

after(async () => {
  disconnectAll();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

test('models saved before a restart are all still there after it', async () => {
  const client = await connect(halo.url);
  const todos = [];
  for (let i = 0; i < 20; i++) todos.push(await ok(client, 'Todos:create', { title: `todo ${i}` }));
  todos[3] = await ok(client, 'Todos:update', { ...todos[3], completed: true });
  todos[4] = await ok(client, 'Todos:patch', { id: todos[4].id, title: 'patched' });
  await ok(client, 'Todos:delete', { id: todos[5].id });
  const [deleted] = todos.splice(5, 1);
  const mine = await ok(client, 'MyModels:create', {});
  const { dataDir } = halo;

  client.disconnect();
  await halo.stop();
  halo = await startHalo({ plugins: PLUGINS, dataDir });

  const after = await connect(halo.url);
  const listed = await ok(after, 'Todos:list', []);
  assert.equal(listed.length, todos.length);
  for (const todo of todos) assert.deepEqual(listed.find((t) => t.id === todo.id), todo);
  assert.equal(listed.find((t) => t.id === deleted.id), undefined);
  assert.deepEqual(await ok(after, 'MyModels:read', { id: mine.id }), mine);
});

test('ids stay unique across a restart', async () => {
  const client = await connect(halo.url);
  const before = (await ok(client, 'Todos:list', [])).map((t) => t.id);
  const created = await ok(client, 'Todos:create', { title: 'after restart' });
  assert.ok(!before.includes(created.id));
});
