// Unit tests of the Todos view against the SDK's in-memory host: the same
// behaviour as the Rust view in plugins/todos.
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { Client, call, insert, model, models, reset } from 'halo-sdk/testing';
import view from './view.js';

const alice = new Client('c1', '', { user: 'alice' });

beforeEach(reset);

test('create trims the title and applies the defaults', () => {
  const todo = call(view, 'create', alice, { title: '  milk  ' });
  assert.deepEqual(todo, { id: todo.id, title: 'milk', completed: false });
  assert.deepEqual(models('Todos'), [todo]);
});

test('create refuses bad titles and flags, and stores nothing', () => {
  for (const [data, message] of [
    [{}, 'title must not be empty'],
    [{ title: '   ' }, 'title must not be empty'],
    [{ title: 7 }, 'title must be a string'],
    [{ title: 'milk', completed: 'yes' }, 'completed must be true or false'],
    [[1], 'the model must be a JSON object'],
  ]) {
    assert.throws(() => call(view, 'create', alice, data), { code: 'invalid', message }, JSON.stringify(data));
  }
  assert.deepEqual(models('Todos'), []);
});

test('update and patch check what they carry and merge it', () => {
  const { id } = insert('Todos', { title: 'milk', completed: false });
  assert.deepEqual(call(view, 'patch', alice, { id, completed: true }), { id, title: 'milk', completed: true });
  assert.deepEqual(call(view, 'update', alice, { id, title: ' bread ' }), { id, title: 'bread', completed: true });
  assert.throws(() => call(view, 'patch', alice, { id, title: '' }), { code: 'invalid' });
  assert.throws(() => call(view, 'patch', alice, { id, completed: 1 }), { code: 'invalid' });
  assert.throws(() => call(view, 'patch', alice, { id: 'gone', completed: true }), { code: 'not_found' });
  assert.throws(() => call(view, 'patch', alice, { completed: true }), { code: 'invalid' });
  assert.deepEqual(model('Todos', id), { id, title: 'bread', completed: true });
});

test('read, list and delete are built in', () => {
  const todo = call(view, 'create', alice, { title: 'milk' });
  assert.deepEqual(call(view, 'read', alice, { id: todo.id }), todo);
  assert.deepEqual(call(view, 'list', alice), [todo]);
  assert.deepEqual(call(view, 'destroy', alice, { id: todo.id }), { id: todo.id });
  assert.deepEqual(call(view, 'delete', alice, { id: todo.id }), { id: todo.id }, 'already gone is success');
  assert.throws(() => call(view, 'read', alice, { id: todo.id }), { code: 'not_found' });
});
