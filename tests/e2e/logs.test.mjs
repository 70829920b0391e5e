// A view's log calls, stdout and stderr land in halo's log, tagged with the
// view; the plugins folder reports what it loaded and what it refused.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHalo, connect, disconnectAll, ok, eventually, printLogsOnFailure } from './harness.mjs';

let halo;

before(async () => {
  halo = await startHalo({ plugins: ['echo'] });
});

after(async () => {
  disconnectAll();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

test('what a view logs and prints reaches the host log, tagged with the view', async () => {
  const client = await connect(halo.url);
  assert.equal(await ok(client, 'Echo:log', 'marker-41'), true);
  await eventually(() => assert.ok(halo.logs().includes('echo stderr: marker-41')));
  const lines = halo.logs().split('\n');
  for (const text of ['echo stdout: marker-41', 'echo stderr: marker-41', 'marker-41']) {
    const line = lines.find((l) => l.includes(text) && l.includes('view=Echo'));
    assert.ok(line, `a log line with ${JSON.stringify(text)} tagged view=Echo`);
  }
});

test('a file that is not a component is refused with a log line naming it, and the views keep serving', async () => {
  writeFileSync(join(halo.pluginsDir, 'broken.wasm'), 'definitely not wasm');
  await eventually(
    () => assert.match(halo.logs(), /view refused.*broken\.wasm|broken\.wasm.*view refused/),
    5000,
  );
  const client = await connect(halo.url);
  assert.deepEqual(await ok(client, 'Echo:list', []), []);
});

test('a view dropped into the running server serves at once', async () => {
  const wasmDir = process.env.HALO_WASM_DIR ?? 'plugins/target/wasm32-wasip2/release';
  copyFileSync(join(wasmDir, 'todos.wasm'), join(halo.pluginsDir, 'todos.wasm'));
  const client = await connect(halo.url);
  await eventually(async () => {
    const { err } = await new Promise((resolve) =>
      client.emit('Todos:list', [], (err, result) => resolve({ err, result })),
    );
    assert.ok(!err, `Todos not served yet: ${JSON.stringify(err)}`);
  }, 5000);
  const todo = await ok(client, 'Todos:create', { title: 'hot' });
  assert.equal(todo.title, 'hot');
});
