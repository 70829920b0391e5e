// One script against the Rust, JavaScript and Python builds of the Todos and
// MyModels views (plugins/todos, plugins/js/todos, plugins/py/todos, and the
// two my-models): acks, errors and pushes must be the same whatever language
// a view is written in, and whichever WIT version it was built for.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { connect, disconnectAll, call, ok, nextEvent, nextEventWhere, record } from './harness.mjs';
import { languages, serveBuilds } from './languages.mjs';

const LANGUAGES = languages([
  { label: 'Rust', builds: { Todos: 'rust/todos', MyModels: 'rust/my_models' } },
  { label: 'JavaScript', builds: { Todos: 'js-todos', MyModels: 'js-my-models' } },
  { label: 'JavaScript built for halo:view@0.2.0', builds: { Todos: 'js-todos-0.2' } },
  { label: 'Python', builds: { Todos: 'py-todos' } },
]);

for (const { label, builds, skip } of LANGUAGES) {
  describe(`Todos and MyModels in ${label}`, { skip }, () => {
    let halo;
    before(async () => {
      halo = await serveBuilds(builds);
    });
    after(async () => {
      disconnectAll();
      await halo?.stop();
    });
    afterEach((t) => {
      if (!t.passed && halo) process.stderr.write(`\n--- halo log (${label}) ---\n${halo.logs()}--- end ---\n`);
    });

    async function twoListeners() {
      const a = await connect(halo.url);
      const b = await connect(halo.url);
      await ok(a, 'Todos:list', []);
      await ok(b, 'Todos:list', []);
      return { a, b };
    }

    test('create trims the title and applies the defaults; the server picks the id', async () => {
      const a = await connect(halo.url);
      const todo = await ok(a, 'Todos:create', { id: 'mine', title: '  buy milk ' });
      assert.equal(typeof todo.id, 'string');
      assert.notEqual(todo.id, 'mine');
      assert.deepEqual(todo, { id: todo.id, title: 'buy milk', completed: false });
    });

    test('bad titles and flags are refused with invalid, and nothing is stored', async () => {
      const a = await connect(halo.url);
      const before = await ok(a, 'Todos:list', []);
      for (const [data, message] of [
        [{}, 'title must not be empty'],
        [{ title: '   ' }, 'title must not be empty'],
        [{ title: 7 }, 'title must be a string'],
        [{ title: 'x', completed: 'yes' }, 'completed must be true or false'],
      ]) {
        const { err } = await call(a, 'Todos:create', data);
        assert.deepEqual(err, { code: 'invalid', message }, JSON.stringify(data));
      }
      assert.deepEqual(await ok(a, 'Todos:list', []), before);
    });

    test('read, update, patch and delete answer as the built-ins do', async () => {
      const a = await connect(halo.url);
      const created = await ok(a, 'Todos:create', { title: 'round trip' });
      assert.deepEqual(await ok(a, 'Todos:read', { id: created.id }), created);
      const updated = await ok(a, 'Todos:update', { ...created, completed: true });
      assert.deepEqual(updated, { ...created, completed: true });
      const patched = await ok(a, 'Todos:patch', { id: created.id, title: ' patched ' });
      assert.deepEqual(patched, { ...updated, title: 'patched' });
      const refused = await call(a, 'Todos:patch', { id: created.id, completed: 1 });
      assert.equal(refused.err?.code, 'invalid');
      const missing = await call(a, 'Todos:patch', { id: 'nope', completed: true });
      assert.equal(missing.err?.code, 'not_found');
      assert.deepEqual(await ok(a, 'Todos:delete', { id: created.id }), { id: created.id });
      assert.equal((await call(a, 'Todos:read', { id: created.id })).err?.code, 'not_found');
      assert.ok(!(await call(a, 'Todos:delete', { id: created.id })).err, 'deleting what is gone succeeds');
    });

    test('list subscribers hear creates, changes and deletes; the writer does not', async () => {
      const { a, b } = await twoListeners();
      const mine = record(a, 'Todos:serveradd');
      const added = nextEvent(b, 'Todos:serveradd');
      const todo = await ok(a, 'Todos:create', { title: 'pushed' });
      assert.deepEqual((await added).find((m) => m.id === todo.id), todo);
      const changed = nextEvent(b, `Todos/${todo.id}:serverchange`);
      await ok(a, 'Todos:patch', { id: todo.id, completed: true });
      assert.equal((await changed).completed, true);
      const destroyed = nextEvent(b, `Todos/${todo.id}:serverdestroy`);
      const removed = nextEvent(b, 'Todos:serverremove');
      await ok(a, 'Todos:delete', { id: todo.id });
      assert.deepEqual(await destroyed, { id: todo.id });
      assert.deepEqual(await removed, [{ id: todo.id }]);
      // b's create, made after, reaches a after anything a's writes sent it.
      const later = nextEventWhere(a, 'Todos:serveradd', (models) => models.some((m) => m.title === 'from b'));
      await ok(b, 'Todos:create', { title: 'from b' });
      await later;
      mine.stop();
      assert.deepEqual(mine.payloads.flat().filter((m) => m.id === todo.id), []);
    });

    test('a refused write pushes nothing', async () => {
      const { a, b } = await twoListeners();
      const heard = record(b, 'Todos:serveradd');
      assert.equal((await call(a, 'Todos:create', { title: ' ' })).err?.code, 'invalid');
      const marker = nextEventWhere(b, 'Todos:serveradd', (models) => models.some((m) => m.title === 'marker'));
      await ok(a, 'Todos:create', { title: 'marker' });
      await marker;
      heard.stop();
      assert.deepEqual(
        heard.payloads.flat().map((m) => m.title),
        ['marker']
      );
    });

    test('a created MyModel gets the default, and an update changes only someProperty', { skip: !builds.MyModels && 'no MyModels in this language' }, async () => {
      const a = await connect(halo.url);
      const model = await ok(a, 'MyModels:create', {});
      assert.deepEqual(model, { id: model.id, someProperty: 'a default value' });
      const updated = await ok(a, 'MyModels:update', { id: model.id, someProperty: 'changed', other: 'ignored' });
      assert.deepEqual(updated, { id: model.id, someProperty: 'changed' });
      assert.deepEqual(await ok(a, 'MyModels:read', { id: model.id }), updated);
      assert.equal((await call(a, 'MyModels:delete', { id: model.id })).err?.code, 'forbidden');
    });
  });
}
