// Tests of the in-memory host: the collection semantics the host documents,
// one transaction per call, the built-in routes, and the host's caps.
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { View, ViewError, collection, events as send, log } from '../src/index.js';
import * as testing from '../src/testing/index.js';

const { Client, call, connect, events, insert, logs, model, models, render, reset, seed, takeEvents } = testing;
const alice = new Client('c1', '', { user: 'alice' });

/** Every built-in route, no handlers. */
function plain() {
  return new View('Things').collection('things').defaults({ n: 0 }).routes(['create', 'read', 'update', 'patch', 'delete', 'list']);
}

beforeEach(reset);

test('create assigns host-shaped ids in creation order', () => {
  const things = collection('things');
  const a = things.create({ id: 'mine', n: 1 });
  const b = things.create({ n: 2 });
  assert.notEqual(a.id, 'mine', 'the store assigns ids');
  for (const id of [a.id, b.id]) {
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal(id[12], '7', 'a UUIDv7, as the host makes');
  }
  assert.ok(a.id < b.id, 'later ids sort after earlier ones');
  assert.deepEqual(things.list(), [a, b]);
  assert.deepEqual(things.get(a.id), a);
  assert.equal(things.get('nope'), null);
});

test('list filters by equality and limits', () => {
  const things = collection('things');
  for (const [n, color] of [[1, 'red'], [2, 'blue'], [3, 'red'], [4, 'red']]) things.create({ n, color });
  const ns = (list) => list.map((m) => m.n);
  assert.deepEqual(ns(things.list({ color: 'red' })), [1, 3, 4]);
  assert.deepEqual(ns(things.list({ color: 'red' }, 2)), [1, 3]);
  assert.deepEqual(ns(things.list(null, 0)), []);
  assert.throws(() => things.list([1]), { code: 'invalid' });
  assert.deepEqual(collection('other').list(), []);
  assert.throws(() => collection('').get('x'), { code: 'invalid' });
});

test('update merges, respects only, and never changes the id', () => {
  const things = collection('things');
  insert('things', { id: 't1', a: 1, b: 2 });
  assert.deepEqual(things.update('t1', { id: 't2', a: 10, c: 3 }), { id: 't1', a: 10, b: 2, c: 3 });
  const only = things.update('t1', { a: 0, b: 0 }, ['b']);
  assert.deepEqual(only, { id: 't1', a: 10, b: 0, c: 3 });
  assert.deepEqual(model('things', 't1'), only);
  assert.throws(() => things.update('gone', {}), { code: 'not_found' });
  assert.throws(() => things.update('t1', 'x'), { code: 'invalid' });
});

test('remove tells whether the model existed', () => {
  insert('things', { id: 't1' });
  assert.equal(collection('things').remove('t1'), true);
  assert.equal(collection('things').remove('t1'), false);
  assert.deepEqual(models('things'), []);
});

test('a failing call discards its writes and events but not its logs', () => {
  const view = new View('Halfway')
    .on('halfway', (req) => {
      req.collection().create({ n: 1 });
      send.toSubscribers('wrote', 1);
      log.warn('about to fail');
      throw ViewError.invalid('no');
    })
    .on('both', (req) => {
      req.collection().create({ n: 1 });
      // Reads see the call's own writes.
      const seen = req.collection().list().length;
      send.toClient(req.client.id, 'wrote', seen);
      return seen;
    });
  insert('Halfway', { id: 'old' });
  assert.throws(() => call(view, 'halfway', alice), { code: 'invalid' });
  assert.deepEqual(models('Halfway'), [{ id: 'old' }]);
  assert.deepEqual(events(), []);
  assert.deepEqual(logs(), [{ level: 'warn', message: 'about to fail' }]);

  assert.equal(call(view, 'both', alice), 2);
  assert.equal(models('Halfway').length, 2);
  assert.deepEqual(takeEvents(), [{ to: 'client', connection: 'c1', name: 'Halfway:wrote', data: 2 }]);
  assert.deepEqual(events(), [], 'taken');
});

test('a handler that throws a bug leaves nothing behind', () => {
  const view = new View('Crash').on('crash', (req) => {
    req.collection().create({});
    throw new TypeError('boom');
  });
  assert.throws(() => call(view, 'crash', alice), TypeError);
  assert.deepEqual(models('Crash'), []);
  assert.match(logs()[0].message, /Crash:crash failed: TypeError: boom/);
  assert.deepEqual(collection('Crash').list(), [], 'usable afterwards');
});

test('routes are checked before the view runs', () => {
  const view = new View('V').routes(['read']).on('ping', () => 'pong');
  assert.equal(call(view, 'ping', alice), 'pong');
  assert.throws(() => call(view, 'create', alice, {}), { code: 'forbidden' });
  assert.throws(() => call(view, 'other', alice, {}), { code: 'forbidden' });
  assert.equal(call(view, 'disconnect', alice), true);
  // A custom route listed without a handler would not load.
  assert.throws(() => call(new View('V').routes(['archive']), 'archive', alice), { code: 'forbidden' });
});

test('built-ins run as in the host', () => {
  const view = plain();
  const created = call(view, 'create', alice, { name: 'a', id: 'x' });
  const id = created.id;
  assert.notEqual(id, 'x');
  assert.deepEqual(created, { id, n: 0, name: 'a' });
  assert.deepEqual(call(view, 'read', alice, { id }), created);
  assert.deepEqual(call(view, 'patch', alice, { id, n: 5 }), { id, n: 5, name: 'a' });
  assert.deepEqual(call(view, 'list', alice, []), [{ id, n: 5, name: 'a' }]);
  assert.deepEqual(call(view, 'destroy', alice, { id }), { id });
  assert.deepEqual(call(view, 'delete', alice, { id }), { id }, 'already gone is success');
  assert.deepEqual(models('things'), []);
  for (const [action, data, code] of [
    ['create', [1], 'invalid'],
    ['read', {}, 'invalid'],
    ['read', { id: 1.5 }, 'invalid'],
    ['read', { id: 'nope' }, 'not_found'],
    ['update', { id: 'nope' }, 'not_found'],
    ['delete', 'x', 'invalid'],
  ]) {
    assert.throws(() => call(view, action, alice, data), { code }, `${action} ${JSON.stringify(data)}`);
  }
});

test('built-ins render per client', () => {
  const view = plain().render((client, m) => (m.owner === client.claims.user ? { id: m.id } : null));
  insert('things', { id: 'a', owner: 'alice' });
  insert('things', { id: 'b', owner: 'bob' });
  assert.deepEqual(call(view, 'list', alice), [{ id: 'a' }]);
  assert.throws(() => call(view, 'read', alice, { id: 'b' }), { code: 'not_found' });
  assert.throws(() => call(view, 'update', alice, { id: 'b', n: 1 }), { code: 'not_found' });
  // Deleting a hidden model is the same as deleting a missing one.
  assert.deepEqual(call(view, 'delete', alice, { id: 'b' }), { id: 'b' });
  assert.notEqual(model('things', 'b'), null, 'hidden, so not deleted');
  // A created model hidden from its creator is answered with its id.
  const created = call(view, 'create', alice, { owner: 'bob' });
  assert.deepEqual(Object.keys(created), ['id']);
  assert.equal(render(view, alice, { owner: 'bob' }), null);
  assert.deepEqual(render(plain(), alice, { owner: 'bob' }), { owner: 'bob' });
});

test('patch uses the update handler as update', () => {
  const view = plain().on('update', (req) => req.action);
  assert.equal(call(view, 'patch', alice, { id: 'x' }), 'update');
});

test('render and connect may read but not write', () => {
  insert('things', { id: 'a' });
  const view = plain()
    .render((_, m) => {
      assert.throws(() => collection('things').create({}), { code: 'forbidden' });
      assert.throws(() => send.toSubscribers('x', 1), { code: 'forbidden' });
      return m;
    })
    .connect((client) => {
      if (collection('things').get('a') === null || client.claimStr('user') === null) throw ViewError.forbidden('sign in');
    });
  assert.notEqual(render(view, alice, { id: 'a' }), null);
  assert.equal(connect(view, alice), undefined);
  assert.throws(() => connect(view, new Client('c2')), { code: 'forbidden', message: 'sign in' });
  assert.equal(models('things').length, 1);
});

test('events and their names are checked as in the host', () => {
  const view = new View('V').on('emit', (req) => {
    send.toSubscribers(req.data, null);
    return null;
  });
  for (const bad of ['', 'a:b', 'a/b']) assert.throws(() => call(view, 'emit', alice, bad), { code: 'invalid' }, bad);
  // Outside a call there is no view to prefix the name with.
  send.toClient('c9', 'hello', {});
  assert.deepEqual(events(), [{ to: 'client', connection: 'c9', name: 'hello', data: {} }]);
});

test('a call may write at most a thousand times and emit at most a hundred events', () => {
  const view = new View('V')
    .on('flood', (req) => { for (let i = 0; i < 1001; i++) req.collection().create({}); })
    .on('shout', () => { for (let i = 0; i < 101; i++) send.toSubscribers('x', i); });
  assert.throws(() => call(view, 'flood', alice), { code: 'invalid' });
  assert.deepEqual(models('V'), []);
  assert.throws(() => call(view, 'shout', alice), { code: 'invalid' });
  assert.deepEqual(events(), []);
});

test('insert keeps string ids and reset starts over', () => {
  const seeded = seed('things', [{ id: 'a', n: 1 }, { n: 2 }]);
  assert.equal(seeded[0].id, 'a');
  insert('things', { id: 'a', n: 3 });
  assert.deepEqual(model('things', 'a'), { id: 'a', n: 3 });
  assert.equal(models('things').length, 2, 'replaced, not added');
  const first = seeded[1].id;
  reset();
  assert.deepEqual(models('things'), []);
  assert.equal(insert('things', {}).id, first, 'ids start over');
  assert.throws(() => insert('things', [1]), /must be a JSON object/);
});

test('an update that changes nothing answers only the id', () => {
  const stored = insert('things', { id: 'm1', title: 'same' });
  assert.deepEqual(call(plain(), 'update', alice, { id: 'm1', title: 'same' }), { id: 'm1' });
  assert.deepEqual(model('things', 'm1'), stored);
  assert.equal(call(plain(), 'update', alice, { id: 'm1', title: 'new' }).title, 'new');
});

test('what a test gets back is a copy', () => {
  const stored = insert('things', { id: 'a', tags: ['x'] });
  stored.tags.push('y');
  models('things')[0].tags.push('z');
  assert.deepEqual(model('things', 'a'), { id: 'a', tags: ['x'] });
});
