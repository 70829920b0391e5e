// Unit tests of the MyModels view against the SDK's in-memory host: the same
// behaviour as the Rust view in plugins/my-models.
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { Client, call, spec, insert, model, models, reset } from 'halo-sdk/testing';
import view from './view.js';

const alice = new Client('c1', '', { user: 'alice' });

beforeEach(reset);

test('describes the routes of the original README', () => {
  assert.deepEqual(spec(view), {
    name: 'MyModels',
    collection: 'MyModels',
    defaults: { someProperty: 'a default value' },
    routes: ['create', 'read', 'update', 'list'],
    handlers: ['update'],
    renderPerClient: false,
    connect: false,
  });
});

test('create is built in and applies the defaults', () => {
  const created = call(view, 'create', alice, { other: 1 });
  assert.deepEqual(created, { id: created.id, someProperty: 'a default value', other: 1 });
  assert.deepEqual(call(view, 'read', alice, { id: created.id }), created);
  assert.deepEqual(call(view, 'list', alice), [created]);
});

test('update changes someProperty and nothing else', () => {
  const { id } = insert('MyModels', { someProperty: 'a', other: 1 });
  const updated = call(view, 'update', alice, { id, someProperty: 'b', other: 2, id2: 3 });
  assert.deepEqual(updated, { id, someProperty: 'b', other: 1 });
  assert.deepEqual(model('MyModels', id), updated);
});

test('update of a missing model or without an id fails', () => {
  assert.throws(() => call(view, 'update', alice, { id: 'nope', someProperty: 'b' }), { code: 'not_found' });
  assert.throws(() => call(view, 'update', alice, { someProperty: 'b' }), { code: 'invalid' });
});

test('routes the view does not allow are refused', () => {
  const { id } = insert('MyModels', { someProperty: 'a' });
  for (const action of ['patch', 'delete', 'destroy', 'archive']) {
    assert.throws(() => call(view, action, alice, { id }), { code: 'forbidden' }, action);
  }
  assert.equal(models('MyModels').length, 1);
});
