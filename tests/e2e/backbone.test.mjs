// Backbone 1.6 apps using static/halo.sync.js, several "browsers" at once:
// what one saves, the others see.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import {
  startHalo,
  connect,
  disconnectAll,
  ok,
  backboneClient,
  freshBackbone,
  REPO,
  settle,
  succeed,
  eventually,
  within,
  printLogsOnFailure,
} from './harness.mjs';

let halo;

before(async () => {
  halo = await startHalo({ plugins: ['my_models', 'todos'] });
});

after(async () => {
  disconnectAll();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

/** A browser with the classes an app would define. */
async function browser() {
  const client = await backboneClient(halo.url);
  const { Backbone } = client;
  const Todo = Backbone.Model.extend({ urlRoot: 'Todos' });
  const Todos = Backbone.Collection.extend({ url: 'Todos', model: Todo });
  // The original README's style: the url is the bare view name.
  const MyModel = Backbone.Model.extend({ url: () => 'MyModels' });
  return { ...client, Todo, Todos, MyModel };
}

/** A browser whose Todos collection is fetched and live. */
async function browserWithTodos() {
  const b = await browser();
  b.todos = new b.Todos();
  await succeed((o) => b.todos.fetch(o), 'Todos fetch');
  return b;
}

/** Records the events a client's socket sends. */
function spyOnSent(socket) {
  const sent = [];
  const emit = socket.emit;
  socket.emit = function (event, ...rest) {
    sent.push(event);
    return emit.call(this, event, ...rest);
  };
  return sent;
}

test('halo.sync.js also loads as a plain <script>, on the globals Backbone and _', () => {
  const file = path.join(REPO, 'static', 'halo.sync.js');
  const { Backbone, _ } = freshBackbone();
  const originalSync = Backbone.sync;
  const page = { Backbone, _ };
  page.window = page;
  vm.createContext(page);
  vm.runInContext(fs.readFileSync(file, 'utf8'), page, { filename: file });
  assert.notEqual(Backbone.sync, originalSync);
  for (const name of ['ioBind', 'ioUnbind', 'ioUnbindAll', 'ioServerBind', 'disconnect']) {
    assert.equal(typeof Backbone.Model.prototype[name], 'function', `Model#${name}`);
    assert.equal(typeof Backbone.Collection.prototype[name], 'function', `Collection#${name}`);
  }
});

test('a fetched collection holds the todos the server has', async () => {
  const raw = await connect(halo.url);
  const todo = await ok(raw, 'Todos:create', { title: 'already there' });
  const a = await browserWithTodos();
  assert.deepEqual(a.todos.get(todo.id).toJSON(), todo);
});

test('a todo created in one browser appears in the other', async () => {
  const a = await browserWithTodos();
  const b = await browserWithTodos();
  const created = a.todos.create({ title: 'from a' }, { wait: true });
  await eventually(() => assert.ok(created.id, 'created in a'));
  assert.equal(created.get('completed'), false, 'defaults come back from the server');
  await eventually(() => assert.equal(b.todos.get(created.id)?.get('title'), 'from a'));
});

test('saving a todo in one browser changes it in the other', async () => {
  const a = await browserWithTodos();
  const b = await browserWithTodos();
  const mine = await new Promise((resolve, reject) => {
    a.todos.create({ title: 'to complete' }, { wait: true, success: resolve, error: (m, e) => reject(e) });
  });
  await eventually(() => assert.ok(b.todos.get(mine.id)));
  const theirs = b.todos.get(mine.id);
  const changed = new Promise((resolve) => theirs.once('change:completed', resolve));

  await succeed((o) => mine.save({ completed: true }, o), 'save');
  await within(changed, 3000, 'the change reaches the other browser');
  assert.equal(theirs.get('completed'), true);
  assert.equal(theirs.get('title'), 'to complete');
  assert.ok(!theirs.hasChanged(), 'a change from the server is not a local, unsaved change');
});

test('a patch save in one browser changes the title in the other', async () => {
  const a = await browserWithTodos();
  const b = await browserWithTodos();
  const mine = new a.Todo({ title: 'to rename', completed: true });
  a.todos.add(mine);
  await succeed((o) => mine.save(null, o), 'create');
  await eventually(() => assert.ok(b.todos.get(mine.id)));

  await succeed((o) => mine.save({ title: 'renamed' }, { ...o, patch: true }), 'patch');
  await eventually(() => assert.equal(b.todos.get(mine.id).get('title'), 'renamed'));
  const raw = await connect(halo.url);
  assert.deepEqual(await ok(raw, 'Todos:read', { id: mine.id }), { id: mine.id, title: 'renamed', completed: true });
});

test('a todo destroyed in one browser leaves the other’s collection, which sends no delete back', async () => {
  const a = await browserWithTodos();
  const b = await browserWithTodos();
  const mine = await new Promise((resolve, reject) => {
    a.todos.create({ title: 'to destroy' }, { wait: true, success: resolve, error: (m, e) => reject(e) });
  });
  await eventually(() => assert.ok(b.todos.get(mine.id)));
  const theirs = b.todos.get(mine.id);
  const destroyedThere = new Promise((resolve) => theirs.once('destroy', resolve));
  const sentByB = spyOnSent(b.socket);
  const errorsInB = [];
  b.todos.on('error', (model, err) => errorsInB.push(err));

  await succeed((o) => mine.destroy(o), 'destroy');
  await within(destroyedThere, 3000, 'the destroy reaches the other browser');
  assert.equal(b.todos.get(mine.id), undefined);
  assert.equal(a.todos.get(mine.id), undefined);
  // A todo a creates after: b has handled the destroy, and whatever it sent
  // in answer, by the time this later push reaches it.
  const later = await succeed((o) => a.todos.create({ title: 'after the destroy' }, o), 'create');
  await eventually(() => assert.ok(b.todos.get(later.id)));
  assert.deepEqual(sentByB.filter((event) => event.startsWith('Todos:')), []);
  assert.deepEqual(errorsInB, []);
});

test('a model whose url is "MyModels" saves, and another browser that fetched it sees its changes', async () => {
  const a = await browser();
  const b = await browser();
  const mine = new a.MyModel();
  await succeed((o) => mine.save(null, o), 'create');
  assert.equal(typeof mine.id, 'string');
  assert.equal(mine.get('someProperty'), 'a default value');

  const theirs = new b.MyModel({ id: mine.id });
  await succeed((o) => theirs.fetch(o), 'fetch');
  assert.equal(theirs.get('someProperty'), 'a default value');

  await succeed((o) => mine.save({ someProperty: 'changed by a' }, o), 'update');
  await eventually(() => assert.equal(theirs.get('someProperty'), 'changed by a'));
});

test('a server error reaches the error callback as {code, message}', async () => {
  const a = await browserWithTodos();
  const bad = new a.Todo({ title: '' });
  const events = [];
  bad.on('error', (model, err) => events.push(err));
  const outcome = await settle((o) => bad.save(null, o));
  assert.equal(outcome.ok, false);
  assert.equal(outcome.error.code, 'invalid');
  assert.equal(typeof outcome.error.message, 'string');
  assert.deepEqual(events, [outcome.error], 'Backbone also triggers "error" on the model');
  assert.ok(bad.isNew());
});

test('save returns a thenable that settles with the answer', async () => {
  const a = await browser();
  const todo = new a.Todo({ title: 'awaited' });
  const saved = await todo.save();
  assert.equal(saved.id, todo.id);
  await assert.rejects(new a.Todo({ title: ' ' }).save(), (err) => err.code === 'invalid');
});

test('a browser that was offline catches up when it reconnects', async () => {
  const a = await browserWithTodos();
  const raw = await connect(halo.url);
  const kept = await ok(raw, 'Todos:create', { title: 'kept' });
  const doomed = await ok(raw, 'Todos:create', { title: 'doomed' });
  await eventually(() => assert.ok(a.todos.get(doomed.id) && a.todos.get(kept.id)));
  const single = new a.Todo({ id: kept.id });
  await succeed((o) => single.fetch(o), 'fetch');
  const gone = await ok(raw, 'Todos:create', { title: 'gone while offline' });
  const lonely = new a.Todo({ id: gone.id });
  await succeed((o) => lonely.fetch(o), 'fetch');
  const lonelyDestroyed = new Promise((resolve) => lonely.once('destroy', resolve));

  a.socket.disconnect();
  const added = await ok(raw, 'Todos:create', { title: 'added while offline' });
  await ok(raw, 'Todos:update', { ...kept, completed: true });
  await ok(raw, 'Todos:delete', { id: doomed.id });
  await ok(raw, 'Todos:delete', { id: gone.id });
  a.socket.connect();

  await eventually(() => {
    assert.equal(a.todos.get(added.id)?.get('title'), 'added while offline');
    assert.equal(a.todos.get(kept.id).get('completed'), true);
    assert.equal(a.todos.get(doomed.id), undefined);
    assert.equal(single.get('completed'), true);
  }, 5000);
  await within(lonelyDestroyed, 3000, 'a model the server no longer has is dropped with a "destroy" event');

  // And it is subscribed again.
  await ok(raw, 'Todos:update', { ...kept, title: 'after reconnect' });
  await eventually(() => {
    assert.equal(a.todos.get(kept.id).get('title'), 'after reconnect');
    assert.equal(single.get('title'), 'after reconnect');
  });
});

test('after the server restarts, a bound collection re-syncs on its own', async () => {
  const a = await browserWithTodos();
  const mine = new a.MyModel();
  await succeed((o) => mine.save(null, o), 'create');

  await halo.restart();
  await eventually(() => assert.ok(a.socket.connected, 'reconnected'), 15_000, 100);

  const other = await browser();
  const theirs = new other.Todo({ title: 'after restart' });
  await succeed((o) => theirs.save(null, o), 'create after restart');
  await eventually(() => assert.equal(a.todos.get(theirs.id)?.get('title'), 'after restart'), 5000);

  const sameModel = new other.MyModel({ id: mine.id });
  await succeed((o) => sameModel.fetch(o), 'fetch');
  await succeed((o) => sameModel.save({ someProperty: 'after restart' }, o), 'update');
  await eventually(() => assert.equal(mine.get('someProperty'), 'after restart'), 5000);
});

test('saves made while the server is down are sent when it is back: in order, each once', async () => {
  const a = await browserWithTodos();
  const b = await browserWithTodos();
  const existing = await succeed((o) => a.todos.create({ title: 'before the outage' }, o), 'create');
  await eventually(() => assert.ok(b.todos.get(existing.id)), 5000);

  await halo.stop();
  await eventually(() => assert.ok(!a.socket.connected, 'a noticed the outage'), 5000, 50);
  // Backbone calls made offline wait instead of failing.
  const saved = [
    settle((o) => a.todos.create({ title: 'offline 1' }, o), 30_000),
    settle((o) => a.todos.create({ title: 'offline 2' }, o), 30_000),
    settle((o) => a.todos.get(existing.id).save({ title: 'edited offline' }, o), 30_000),
  ];
  await halo.restart();

  const outcomes = await Promise.all(saved);
  assert.ok(outcomes.every((outcome) => outcome.ok), JSON.stringify(outcomes));
  const raw = await connect(halo.url);
  const stored = await ok(raw, 'Todos:list', []);
  const titles = stored.map((t) => t.title);
  assert.equal(titles.filter((t) => t === 'offline 1').length, 1, 'created once');
  assert.equal(titles.filter((t) => t === 'offline 2').length, 1, 'created once');
  assert.ok(titles.indexOf('offline 1') < titles.indexOf('offline 2'), 'in the order they were made');
  assert.equal(stored.find((t) => t.id === existing.id).title, 'edited offline');
  // The other browser, which stayed open, catches up on its own.
  await eventually(() => {
    const seen = b.todos.map((t) => t.get('title'));
    assert.equal(seen.filter((t) => t === 'offline 1').length, 1);
    assert.equal(seen.filter((t) => t === 'offline 2').length, 1);
    assert.equal(b.todos.get(existing.id).get('title'), 'edited offline');
  }, 10_000, 100);
  assert.ok(a.todos.every((t) => !t.isNew()), 'the offline creates got their ids');
});

test('a write whose ack was lost is sent again with the same operation id', async () => {
  const a = await browserWithTodos();
  const sent = [];
  const emit = a.socket.emit;
  a.socket.emit = function (event, data, ...rest) {
    if (event === 'Todos:create') sent.push(data.$op);
    // The first send reaches the server, which applies it and acks, but
    // the connection drops before the client hears the ack.
    if (event === 'Todos:create' && sent.length === 1) {
      emit.call(this, event, data, () => a.socket.io.engine.close());
      return this;
    }
    return emit.call(this, event, data, ...rest);
  };
  const outcome = await settle((o) => a.todos.create({ title: 'ack lost' }, o), 15_000);
  assert.ok(outcome.ok, JSON.stringify(outcome));
  assert.equal(sent.length, 2, 'sent again after the reconnect');
  assert.equal(sent[0], sent[1], 'with the same operation id');
  const raw = await connect(halo.url);
  const stored = await ok(raw, 'Todos:list', []);
  assert.equal(stored.filter((t) => t.title === 'ack lost').length, 1, 'applied once');
});

test('disconnect stops a collection’s live updates', async () => {
  const a = await browserWithTodos();
  const b = await browserWithTodos();
  // b keeps following one model; a's change of it, made after the create,
  // reaches b after anything that create sent it.
  const mine = new a.MyModel();
  await succeed((o) => mine.save(null, o), 'create');
  const theirs = new b.MyModel({ id: mine.id });
  await succeed((o) => theirs.fetch(o), 'fetch');
  await b.todos.disconnect();
  const created = await succeed((o) => new a.Todo({ title: 'unseen' }).save(null, o), 'create');
  await succeed((o) => mine.save({ someProperty: 'after the create' }, o), 'update');
  await eventually(() => assert.equal(theirs.get('someProperty'), 'after the create'));
  assert.equal(b.todos.get(created.id), undefined);
});
