// Tests of the View builder, Request and Client, and the export glue: what
// the host reads from `describe` and gets back from `handle`, `render` and
// `connect`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client, Request, View, ViewError } from '../src/index.js';
import * as guest from '../src/guest.js';
import '../src/testing/index.js';

const witClient = (claims) => ({ id: 'c1', tenant: '', claims });

function myModels() {
  return new View('MyModels')
    .defaults({ someProperty: 'a default value' })
    .routes(['create', 'read', 'update', 'list'])
    .on('update', (req) => req.data);
}

test('describe lists routes, handlers and defaults', () => {
  assert.deepEqual(guest.describe(myModels()), {
    name: 'MyModels',
    collection: 'MyModels',
    defaults: '{"someProperty":"a default value"}',
    routes: ['create', 'read', 'update', 'list'],
    handlers: ['update'],
    renderPerClient: false,
    connect: false,
  });
});

test('a custom handler is also a route, and destroy is delete', () => {
  const view = new View('V')
    .collection('c')
    .on('archive', () => null)
    .routes(['read', 'archive', 'destroy'])
    .render((_, model) => model)
    .connect(() => {});
  const spec = guest.describe(view);
  assert.equal(spec.collection, 'c');
  assert.deepEqual(spec.routes, ['archive', 'read', 'delete']);
  assert.deepEqual(spec.handlers, ['archive']);
  assert.equal(spec.renderPerClient, true);
  assert.equal(spec.connect, true);
});

test('patch falls back to the update handler', () => {
  const view = myModels();
  assert.equal(view.handles('patch'), true);
  assert.equal(view.handles('create'), false);
  assert.deepEqual(guest.describe(view).handlers, ['update'], 'the host does the fallback too');
});

test('defaults that are not an object fail the build', () => {
  assert.throws(() => new View('V').defaults([1]), /defaults must be a JSON object/);
});

test('id is a string or an integer', () => {
  const req = (data) => new Request(new View('V'), 'read', new Client('c1'), data);
  assert.equal(req({ id: 'a1' }).id(), 'a1');
  assert.equal(req({ id: 7 }).id(), '7');
  for (const bad of [{}, { id: '' }, { id: 1.5 }, { id: [1] }, 'x', null]) {
    assert.throws(() => req(bad).id(), { code: 'invalid' }, JSON.stringify(bad));
  }
});

test('withDefaults puts the data over the defaults', () => {
  const view = new View('V').defaults({ title: '', completed: false });
  const req = new Request(view, 'create', new Client('c1'), null);
  assert.deepEqual(req.withDefaults({ title: 'milk' }), { title: 'milk', completed: false });
  assert.throws(() => req.withDefaults([]), { code: 'invalid' });
  assert.deepEqual(view.defaultAttributes, { title: '', completed: false }, 'defaults stay unchanged');
});

test('a hidden model renders as not_found', () => {
  const view = new View('V').render((client, model) => (model.owner === client.claims.user ? model : null));
  const req = new Request(view, 'read', new Client('c1', '', { user: 'bob' }), null);
  assert.deepEqual(req.render({ owner: 'bob' }), { owner: 'bob' });
  assert.throws(() => req.render({ owner: 'alice' }), { code: 'not_found' });
});

test('claims that are not an object count as none', () => {
  assert.deepEqual(Client.fromWit({ id: 'c1', tenant: 't', claims: 'not json' }).claims, {});
  assert.deepEqual(new Client('c1', 't', [1]).claims, {});
  const client = new Client('c1', 't', { user: 'alice', admin: true });
  assert.equal(client.claimStr('user'), 'alice');
  assert.equal(client.claimStr('admin'), null);
});

test('handle runs the handler with parsed data and claims', () => {
  const view = new View('V').on('whoami', (req) => ({ user: req.client.claimStr('user'), data: req.data }));
  assert.equal(guest.handle(view, 'whoami', witClient('{"user":"alice"}'), '[1]'), '{"user":"alice","data":[1]}');
  assert.equal(guest.handle(view, 'whoami', witClient('{}'), ''), '{"user":null,"data":null}', 'empty data is null');
});

test('handle returns WIT errors as a thrown payload', () => {
  const view = new View('V').on('whoami', () => { throw ViewError.notFound('gone'); });
  const payload = (fn) => { try { fn(); } catch (e) { return e.payload; } return undefined; };
  assert.deepEqual(payload(() => guest.handle(view, 'update', witClient('{}'), '{}')), { code: 'forbidden', message: 'V does not handle update' });
  assert.deepEqual(payload(() => guest.handle(view, 'whoami', witClient('{}'), '{')), { code: 'invalid', message: 'the request data is not JSON' });
  assert.deepEqual(payload(() => guest.handle(view, 'whoami', witClient('{}'), '1')), { code: 'not-found', message: 'gone' });
});

test('a bug in a handler is thrown on as it is, to trap', () => {
  const view = new View('V').on('crash', () => { throw new TypeError('boom'); }).on('later', async () => 1);
  assert.throws(() => guest.handle(view, 'crash', witClient('{}'), 'null'), TypeError);
  assert.throws(() => guest.handle(view, 'later', witClient('{}'), 'null'), /must be synchronous/);
});

test('without render or connect functions everything passes', () => {
  const view = new View('V');
  assert.equal(guest.render(view, witClient('{}'), '{"a":1}'), '{"a":1}');
  assert.equal(guest.connect(view, witClient('{}')), undefined);
});

test('render hides on null, on a ViewError, and on a model that is not JSON', () => {
  const view = new View('V').render((client, model) => {
    if (model.secret) throw ViewError.forbidden('secret');
    return model.owner === client.claims.user ? { id: model.id } : null;
  });
  assert.equal(guest.render(view, witClient('{"user":"a"}'), '{"id":"1","owner":"a"}'), '{"id":"1"}');
  assert.equal(guest.render(view, witClient('{"user":"a"}'), '{"id":"1","owner":"b"}'), undefined);
  assert.equal(guest.render(view, witClient('{"user":"a"}'), '{"secret":true}'), undefined);
  assert.equal(guest.render(view, witClient('{"user":"a"}'), 'nope'), undefined);
});

test('connect refuses with the view\'s error', () => {
  const view = new View('V').connect((client) => {
    if (client.claimStr('user') === null) throw ViewError.forbidden('sign in');
  });
  assert.equal(guest.connect(view, witClient('{"user":"a"}')), undefined);
  assert.throws(() => guest.connect(view, witClient('{}')), { payload: { code: 'forbidden', message: 'sign in' } });
});

test('ViewError carries the codes clients receive', () => {
  assert.deepEqual(ViewError.notFound('x').toJSON(), { code: 'not_found', message: 'x' });
  assert.throws(() => new ViewError('nope', 'x'), TypeError);
});
