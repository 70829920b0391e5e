// The wire protocol, spoken with a raw socket.io-client 4: acks, errors and
// pushes, as docs/protocol.md describes them.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHalo,
  connect,
  disconnectAll,
  call,
  ok,
  nextEvent,
  nextEventWhere,
  record,
  eventually,
  printLogsOnFailure,
} from './harness.mjs';

let halo;

before(async () => {
  halo = await startHalo({ plugins: ['my_models', 'todos', 'echo', 'mirror'] });
});

after(async () => {
  disconnectAll();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

/** Two fresh clients that both listed `view`: the writer and the watcher. */
async function twoListeners(view = 'Todos') {
  const a = await connect(halo.url);
  const b = await connect(halo.url);
  await ok(a, `${view}:list`, []);
  await ok(b, `${view}:list`, []);
  return { a, b };
}

function assertError(err, code) {
  assert.ok(err, `expected an error with code ${code}, got success`);
  assert.equal(err.code, code, `expected ${code}, got ${JSON.stringify(err)}`);
  assert.equal(typeof err.message, 'string');
}

test('the server hands out the Socket.IO client and the Backbone adapter', async () => {
  for (const file of ['/socket.io/socket.io.js', '/halo/halo.sync.js']) {
    const res = await fetch(halo.url + file, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200, file);
    assert.match(res.headers.get('content-type') ?? '', /javascript/, file);
    assert.ok((await res.text()).length > 0, file);
  }
});

test('clients on HTTP long-polling, as browsers start, are served and can upgrade', async () => {
  for (const transports of [['polling'], ['polling', 'websocket']]) {
    const socket = await connect(halo.url, { transports });
    const todo = await ok(socket, 'Todos:create', { title: `over ${transports.join('+')}` });
    assert.equal((await ok(socket, 'Todos:read', { id: todo.id })).title, `over ${transports.join('+')}`);
    socket.disconnect();
  }
});

test('the front page lists the views this server serves, with their routes', async () => {
  const res = await fetch(halo.url + '/', { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  const page = await res.text();
  assert.match(page, /<code>MyModels<\/code>.*create, list, read, update/);
  assert.match(page, /<code>Todos<\/code>.*create, delete, list, patch, read, update/);
});

// --- create, read, update, patch, delete, list ---

test('create answers with the new todo: an id and the defaults merged', async () => {
  const a = await connect(halo.url);
  const todo = await ok(a, 'Todos:create', { title: 'buy milk' });
  assert.equal(typeof todo.id, 'string');
  assert.ok(todo.id.length > 0);
  assert.equal(todo.title, 'buy milk');
  assert.equal(todo.completed, false);
});

test('create ignores an id the client made up', async () => {
  const a = await connect(halo.url);
  const todo = await ok(a, 'Todos:create', { id: 'mine', title: 'own id' });
  assert.notEqual(todo.id, 'mine');
});

test('read answers with the stored todo', async () => {
  const a = await connect(halo.url);
  const created = await ok(a, 'Todos:create', { title: 'read me' });
  const b = await connect(halo.url);
  assert.deepEqual(await ok(b, 'Todos:read', { id: created.id }), created);
});

test('read also accepts the whole model, as the original client sends it', async () => {
  const a = await connect(halo.url);
  const created = await ok(a, 'Todos:create', { title: 'whole model' });
  assert.deepEqual(await ok(a, 'Todos:read', { ...created }), created);
});

test('update answers with the stored todo', async () => {
  const a = await connect(halo.url);
  const created = await ok(a, 'Todos:create', { title: 'update me' });
  const updated = await ok(a, 'Todos:update', { ...created, completed: true });
  assert.deepEqual(updated, { ...created, completed: true });
  assert.deepEqual(await ok(a, 'Todos:read', { id: created.id }), updated);
});

test('patch merges the given attributes into the stored todo', async () => {
  const a = await connect(halo.url);
  const created = await ok(a, 'Todos:create', { title: 'patch me', completed: true });
  const patched = await ok(a, 'Todos:patch', { id: created.id, title: 'patched' });
  assert.deepEqual(patched, { ...created, title: 'patched' });
  assert.deepEqual(await ok(a, 'Todos:read', { id: created.id }), patched);
});

test('delete answers with the id, and the todo is gone', async () => {
  const a = await connect(halo.url);
  const created = await ok(a, 'Todos:create', { title: 'delete me' });
  assert.deepEqual(await ok(a, 'Todos:delete', { id: created.id }), { id: created.id });
  assertError((await call(a, 'Todos:read', { id: created.id })).err, 'not_found');
  const ids = (await ok(a, 'Todos:list', [])).map((todo) => todo.id);
  assert.ok(!ids.includes(created.id));
});

test('destroy, the route name halo uses, deletes too', async () => {
  const a = await connect(halo.url);
  const created = await ok(a, 'Todos:create', { title: 'destroy me' });
  assert.deepEqual(await ok(a, 'Todos:destroy', { id: created.id }), { id: created.id });
  assertError((await call(a, 'Todos:read', { id: created.id })).err, 'not_found');
});

test('deleting a todo that is already gone succeeds', async () => {
  const a = await connect(halo.url);
  const created = await ok(a, 'Todos:create', { title: 'twice' });
  await ok(a, 'Todos:delete', { id: created.id });
  const again = await call(a, 'Todos:delete', { id: created.id });
  assert.ok(!again.err, `second delete failed: ${JSON.stringify(again.err)}`);
});

test('list answers with every todo', async () => {
  const a = await connect(halo.url);
  const one = await ok(a, 'Todos:create', { title: 'one' });
  const two = await ok(a, 'Todos:create', { title: 'two' });
  const list = await ok(a, 'Todos:list', []);
  assert.ok(Array.isArray(list));
  assert.deepEqual(list.find((todo) => todo.id === one.id), one);
  assert.deepEqual(list.find((todo) => todo.id === two.id), two);
});

// --- pushes ---

test('a list subscriber hears about a created todo, the creator does not', async () => {
  const { a, b } = await twoListeners();
  const heard = nextEvent(b, 'Todos:serveradd');
  const heardByCreator = record(a, 'Todos:serveradd');
  const todo = await ok(a, 'Todos:create', { title: 'pushed' });
  const added = await heard;
  assert.ok(Array.isArray(added), 'serveradd carries an array');
  assert.deepEqual(added.find((model) => model.id === todo.id), todo);
  // b's create, made after, reaches a after anything a's own create sent it.
  const later = nextEventWhere(a, 'Todos:serveradd', (models) => models.some((m) => m.title === 'after pushed'));
  await ok(b, 'Todos:create', { title: 'after pushed' });
  await later;
  heardByCreator.stop();
  assert.deepEqual(heardByCreator.payloads.flat().filter((model) => model.id === todo.id), []);
});

test('a list subscriber hears about an updated todo, the updater does not', async () => {
  const { a, b } = await twoListeners();
  const added = nextEvent(b, 'Todos:serveradd');
  const todo = await ok(a, 'Todos:create', { title: 'to change' });
  await added;
  const heard = nextEvent(b, `Todos/${todo.id}:serverchange`);
  const heardByUpdater = record(a, `Todos/${todo.id}:serverchange`);
  await ok(a, 'Todos:update', { ...todo, completed: true });
  const changes = await heard;
  assert.equal(changes.completed, true);
  if ('id' in changes) assert.equal(changes.id, todo.id);
  if ('title' in changes) assert.equal(changes.title, 'to change');
  // b's change, made after, reaches a after anything a's own update sent
  // it: it is the only change a hears.
  const theirs = nextEventWhere(a, `Todos/${todo.id}:serverchange`, (c) => c.title === 'changed by b');
  await ok(b, 'Todos:update', { ...todo, title: 'changed by b', completed: true });
  const marker = await theirs;
  heardByUpdater.stop();
  assert.deepEqual(heardByUpdater.payloads, [marker]);
});

test('a list subscriber hears about a patched todo', async () => {
  const { a, b } = await twoListeners();
  const todo = await ok(a, 'Todos:create', { title: 'to patch' });
  const heard = nextEvent(b, `Todos/${todo.id}:serverchange`);
  await ok(a, 'Todos:patch', { id: todo.id, title: 'patched' });
  assert.equal((await heard).title, 'patched');
});

test('a list subscriber hears serverdestroy and serverremove for a deleted todo, the deleter does not', async () => {
  const { a, b } = await twoListeners();
  const todo = await ok(a, 'Todos:create', { title: 'to delete' });
  const destroyed = nextEvent(b, `Todos/${todo.id}:serverdestroy`);
  const removed = nextEvent(b, 'Todos:serverremove');
  const heardByDeleter = [record(a, `Todos/${todo.id}:serverdestroy`), record(a, 'Todos:serverremove')];
  await ok(a, 'Todos:delete', { id: todo.id });
  assert.deepEqual(await destroyed, { id: todo.id });
  assert.deepEqual(await removed, [{ id: todo.id }]);
  // b's create, made after, reaches a after anything a's own delete sent it.
  const later = nextEventWhere(a, 'Todos:serveradd', (models) => models.some((m) => m.title === 'after the delete'));
  await ok(b, 'Todos:create', { title: 'after the delete' });
  await later;
  for (const heard of heardByDeleter) {
    heard.stop();
    assert.deepEqual(heard.payloads, []);
  }
});

test('a reader of one todo hears its changes and its deletion', async () => {
  const a = await connect(halo.url);
  const b = await connect(halo.url);
  const todo = await ok(a, 'Todos:create', { title: 'read-subscribed' });
  await ok(b, 'Todos:read', { id: todo.id });
  const changed = nextEvent(b, `Todos/${todo.id}:serverchange`);
  await ok(a, 'Todos:update', { ...todo, completed: true });
  assert.equal((await changed).completed, true);
  const destroyed = nextEvent(b, `Todos/${todo.id}:serverdestroy`);
  await ok(a, 'Todos:delete', { id: todo.id });
  assert.deepEqual(await destroyed, { id: todo.id });
});

test('a creator stays subscribed to its todo and hears others change it', async () => {
  const a = await connect(halo.url);
  const b = await connect(halo.url);
  const todo = await ok(a, 'Todos:create', { title: 'mine' });
  const changed = nextEvent(a, `Todos/${todo.id}:serverchange`);
  await ok(b, 'Todos:update', { ...todo, title: 'theirs' });
  assert.equal((await changed).title, 'theirs');
});

test('a client subscribed both by list and by read receives each serverchange once', async () => {
  const { a, b } = await twoListeners();
  const todo = await ok(a, 'Todos:create', { title: 'once' });
  await ok(b, 'Todos:read', { id: todo.id });
  const changes = record(b, `Todos/${todo.id}:serverchange`);
  const first = nextEvent(b, `Todos/${todo.id}:serverchange`);
  await ok(a, 'Todos:update', { ...todo, completed: true });
  await first;
  // The next change reaches b after any second copy of the first.
  const second = nextEventWhere(b, `Todos/${todo.id}:serverchange`, (c) => c.title === 'twice');
  await ok(a, 'Todos:update', { ...todo, title: 'twice', completed: true });
  await second;
  changes.stop();
  assert.deepEqual(
    changes.payloads.map((c) => c.title === 'twice'),
    [false, true],
    `got ${JSON.stringify(changes.payloads)}`
  );
});

test('disconnect with an id stops that todo’s pushes to the caller', async () => {
  const a = await connect(halo.url);
  const b = await connect(halo.url);
  const todo = await ok(a, 'Todos:create', { title: 'unsubscribe me' });
  await ok(b, 'Todos:read', { id: todo.id });
  const before = nextEvent(b, `Todos/${todo.id}:serverchange`);
  await ok(a, 'Todos:update', { ...todo, completed: true });
  await before;

  const { err } = await call(b, 'Todos:disconnect', { id: todo.id });
  assert.ok(!err, `disconnect failed: ${JSON.stringify(err)}`);
  // b still follows another todo; its change, made after, is the marker.
  const other = await ok(a, 'Todos:create', { title: 'still followed' });
  await ok(b, 'Todos:read', { id: other.id });
  const heard = record(b, `Todos/${todo.id}:serverchange`);
  await ok(a, 'Todos:update', { ...todo, completed: false });
  const marker = nextEvent(b, `Todos/${other.id}:serverchange`);
  await ok(a, 'Todos:update', { ...other, completed: true });
  await marker;
  heard.stop();
  assert.deepEqual(heard.payloads, []);
});

test('disconnect without an id stops the view’s pushes to the caller', async () => {
  const { a, b } = await twoListeners();
  const { err } = await call(b, 'Todos:disconnect', {});
  assert.ok(!err, `disconnect failed: ${JSON.stringify(err)}`);
  // b still lists another view; a's create there, made after, is the marker.
  await ok(b, 'MyModels:list', []);
  const heard = record(b, 'Todos:serveradd');
  await ok(a, 'Todos:create', { title: 'nobody hears' });
  const marker = nextEvent(b, 'MyModels:serveradd');
  await ok(a, 'MyModels:create', {});
  await marker;
  heard.stop();
  assert.deepEqual(heard.payloads, []);
});

test('a custom event reaches the view’s list subscribers but not the sender', async () => {
  const { a, b } = await twoListeners('Echo');
  const heard = nextEvent(b, 'Echo:shout');
  const heardBySender = record(a, 'Echo:shout');
  const { err } = await call(a, 'Echo:shout', { text: 'hello' });
  assert.ok(!err, `shout failed: ${JSON.stringify(err)}`);
  assert.deepEqual(await heard, { text: 'hello' });
  // b's shout, sent after, reaches a after anything a's own shout sent it:
  // it is the only one a hears.
  const reply = nextEvent(a, 'Echo:shout');
  await ok(b, 'Echo:shout', { text: 'back' });
  await reply;
  heardBySender.stop();
  assert.deepEqual(heardBySender.payloads, [{ text: 'back' }]);
});

// --- MyModels: the view from the original README ---

test('a created MyModel gets someProperty "a default value"', async () => {
  const a = await connect(halo.url);
  const model = await ok(a, 'MyModels:create', {});
  assert.equal(typeof model.id, 'string');
  assert.equal(model.someProperty, 'a default value');
});

test('updating a MyModel stores only someProperty', async () => {
  const a = await connect(halo.url);
  const model = await ok(a, 'MyModels:create', {});
  const updated = await ok(a, 'MyModels:update', { id: model.id, someProperty: 'changed', other: 'ignored' });
  assert.equal(updated.someProperty, 'changed');
  assert.equal(updated.other, undefined);
  const stored = await ok(a, 'MyModels:read', { id: model.id });
  assert.equal(stored.someProperty, 'changed');
  assert.equal(stored.other, undefined);
});

test('MyModels refuses delete and patch with forbidden, and keeps the model', async () => {
  const a = await connect(halo.url);
  const model = await ok(a, 'MyModels:create', {});
  assertError((await call(a, 'MyModels:delete', { id: model.id })).err, 'forbidden');
  assertError((await call(a, 'MyModels:patch', { id: model.id, someProperty: 'x' })).err, 'forbidden');
  assert.equal((await ok(a, 'MyModels:read', { id: model.id })).someProperty, 'a default value');
});

// --- bad input ---

test('an unknown view is refused with unknown_view', async () => {
  const a = await connect(halo.url);
  assertError((await call(a, 'Nope:list', [])).err, 'unknown_view');
});

test('update with malformed data is refused with invalid', async () => {
  const a = await connect(halo.url);
  for (const data of ['just a string', { title: 'no id' }, { id: {}, title: 'object id' }]) {
    assertError((await call(a, 'Todos:update', data)).err, 'invalid');
  }
});

test('read of a missing id is refused with not_found', async () => {
  const a = await connect(halo.url);
  assertError((await call(a, 'Todos:read', { id: 'no-such-todo' })).err, 'not_found');
});

test('create with an empty or blank title, or a non-boolean completed, is refused with invalid', async () => {
  const a = await connect(halo.url);
  for (const data of [{ title: '' }, { title: '   ' }, { title: 'ok', completed: 'yes' }]) {
    assertError((await call(a, 'Todos:create', data)).err, 'invalid');
  }
});

test('a 10 MB payload gets an error or a closed connection, and nobody else notices', async () => {
  const big = await connect(halo.url, { reconnection: false });
  const other = await connect(halo.url);
  const outcome = new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ kind: 'nothing' }), 15_000);
    big.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve({ kind: 'closed', reason });
    });
    big.emit('Todos:create', { title: 'x'.repeat(10 * 1024 * 1024) }, (err) => {
      clearTimeout(timer);
      resolve({ kind: 'ack', err });
    });
  });
  // The other client is served while the big frame is on its way.
  const meanwhile = await call(other, 'Todos:list', []);
  assert.ok(!meanwhile.err);

  const result = await outcome;
  assert.notEqual(result.kind, 'nothing', 'the server neither answered nor closed the connection');
  if (result.kind === 'ack') assert.ok(result.err, 'a 10 MB todo was accepted');
  big.disconnect();

  assert.ok(Array.isArray(await ok(other, 'Todos:list', [])));
  const fresh = await connect(halo.url);
  await ok(fresh, 'Todos:create', { title: 'still up' });
});

test('every request with an ack gets an answer, even 200 mixed ones at once', async () => {
  const a = await connect(halo.url);
  const requests = [
    ['Todos:create', { title: 'bulk' }],
    ['Todos:create', { title: '' }],
    ['Todos:read', { id: 'missing' }],
    ['Todos:update', 'garbage'],
    ['Todos:update', { id: 'missing', title: 'x' }],
    ['Todos:list', []],
    ['Nope:list', []],
    ['MyModels:delete', { id: 'x' }],
  ];
  const acks = await Promise.all(
    Array.from({ length: 200 }, (_, i) => call(a, ...requests[i % requests.length], 15_000))
  );
  assert.equal(acks.length, 200);
  acks.forEach(({ err }, i) => {
    const [event, data] = requests[i % requests.length];
    const valid = event === 'Todos:list' || (event === 'Todos:create' && data.title);
    if (valid) assert.ok(!err, `${event} failed: ${JSON.stringify(err)}`);
    else assert.ok(err && typeof err.code === 'string', `${event} ${JSON.stringify(data)} was not refused`);
  });
});

test('a write reaches the subscribers of every view over the collection, each under its own name', async () => {
  const writer = await connect(halo.url);
  const watcher = await connect(halo.url);
  await ok(watcher, 'Mirror:list', []);
  const added = nextEvent(watcher, 'Mirror:serveradd');
  const model = await ok(writer, 'Echo:create', { word: 'one' });
  assert.deepEqual(await added, [model]);

  await ok(watcher, 'Mirror:read', { id: model.id });
  const changes = record(watcher, `Mirror/${model.id}:serverchange`);
  await ok(writer, 'Echo:update', { id: model.id, word: 'two' });
  await eventually(() => assert.equal(changes.payloads.length, 1));
  assert.deepEqual(changes.payloads[0], { id: model.id, word: 'two' });
  changes.stop();

  const { err } = await call(watcher, 'Mirror:update', { id: model.id, word: 'three' });
  assertError(err, 'forbidden');
});

test('a client’s saves apply in the order it sent them, and watchers see them in that order', async () => {
  const { a, b } = await twoListeners();
  const todo = await ok(a, 'Todos:create', { title: 'counter' });
  const seen = record(b, `Todos/${todo.id}:serverchange`);
  // Fire and forget, as Backbone does with save() without wait.
  const acks = [];
  for (let n = 1; n <= 30; n++) acks.push(call(a, 'Todos:update', { id: todo.id, title: `n${n}` }));
  const answers = await Promise.all(acks);
  answers.forEach(({ err }, i) => assert.ok(!err, `update ${i + 1}: ${JSON.stringify(err)}`));
  assert.equal(answers[29].result.title, 'n30');
  assert.equal((await ok(a, 'Todos:read', { id: todo.id })).title, 'n30');
  await eventually(() => assert.equal(seen.payloads.at(-1)?.title, 'n30'));
  const order = seen.payloads.map((p) => Number(p.title.slice(1)));
  assert.deepEqual(order, [...order].sort((x, y) => x - y), 'pushes arrive in commit order');
  seen.stop();
});

test('when two clients write one model at once, writers and watcher all end with what is stored', async () => {
  const writer1 = await connect(halo.url);
  const writer2 = await connect(halo.url);
  const watcher = await connect(halo.url);
  const todo = await ok(writer1, 'Todos:create', { title: 'contested' });
  await ok(writer2, 'Todos:read', { id: todo.id });
  await ok(watcher, 'Todos:read', { id: todo.id });
  // What each client last heard, from an ack or a push, in arrival order.
  const last = new Map();
  for (const client of [writer1, writer2, watcher]) {
    client.on(`Todos/${todo.id}:serverchange`, (change) => last.set(client, change.title));
  }
  const write = (client, title) =>
    new Promise((resolve) =>
      client.emit('Todos:update', { id: todo.id, title }, (err, result) => {
        if (!err) last.set(client, result.title);
        resolve(err);
      }),
    );
  const writes = [];
  for (let n = 0; n < 25; n++) {
    writes.push(write(writer1, `one ${n}`));
    writes.push(write(writer2, `two ${n}`));
  }
  (await Promise.all(writes)).forEach((err) => assert.equal(err, null));
  const stored = await ok(watcher, 'Todos:read', { id: todo.id });
  await eventually(() => {
    assert.equal(last.get(watcher), stored.title, 'the watcher');
    assert.equal(last.get(writer1), stored.title, 'the first writer');
    assert.equal(last.get(writer2), stored.title, 'the second writer');
  });
});
