// Apps written against halo 0.1.6 keep working: its own halo.sync.js, loaded
// unchanged, against this server.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHalo,
  connect,
  disconnectAll,
  ok,
  backboneClient,
  succeed,
  eventually,
  within,
  printLogsOnFailure,
  ORIGINAL_SKIP,
} from './harness.mjs';

describe('the original halo 0.1.6 halo.sync.js', { skip: ORIGINAL_SKIP }, () => {
  let halo;

  before(async () => {
    halo = await startHalo({ plugins: ['my_models', 'todos'] });
  });

  after(async () => {
    disconnectAll();
    await halo?.stop();
  });

  printLogsOnFailure(() => halo);

  /** A browser running the original file, with classes in the README's style. */
  async function originalBrowser() {
    const client = await backboneClient(halo.url, { sync: 'original' });
    const { Backbone } = client;
    const MyModel = Backbone.Model.extend({
      url: function () {
        return 'MyModels';
      },
    });
    const Todo = Backbone.Model.extend({
      url: function () {
        return 'Todos';
      },
    });
    const Todos = Backbone.Collection.extend({ url: 'Todos', model: Todo });
    return { ...client, MyModel, Todo, Todos };
  }

  test('a MyModels model saves, and fetches back what was saved', async () => {
    const a = await originalBrowser();
    const mine = new a.MyModel();
    await succeed((o) => mine.save(null, o), 'create');
    assert.equal(typeof mine.id, 'string');
    assert.equal(mine.get('someProperty'), 'a default value');

    await succeed((o) => mine.save({ someProperty: 'saved' }, o), 'update');
    const copy = new a.MyModel({ id: mine.id });
    await succeed((o) => copy.fetch(o), 'fetch');
    assert.equal(copy.get('someProperty'), 'saved');
  });

  test('a fetched MyModels model receives the change another client saves', async () => {
    const a = await originalBrowser();
    const raw = await connect(halo.url);
    const created = await ok(raw, 'MyModels:create', {});
    const mine = new a.MyModel({ id: created.id });
    await succeed((o) => mine.fetch(o), 'fetch');

    const changed = new Promise((resolve) => mine.once('change:someProperty', resolve));
    await ok(raw, 'MyModels:update', { id: created.id, someProperty: 'from elsewhere' });
    await within(changed, 3000, 'the change reaches the model');
    assert.equal(mine.get('someProperty'), 'from elsewhere');
  });

  test('a fetched collection receives the todos another client creates', async () => {
    const a = await originalBrowser();
    const todos = new a.Todos();
    await succeed((o) => todos.fetch(o), 'fetch');
    const raw = await connect(halo.url);
    const created = await ok(raw, 'Todos:create', { title: 'for the old client' });
    await eventually(() => assert.equal(todos.get(created.id)?.get('title'), 'for the old client'));
  });

  test('when another client destroys a todo, the original’s echoed Todos:delete succeeds', async () => {
    const a = await originalBrowser();
    const raw = await connect(halo.url);
    const created = await ok(raw, 'Todos:create', { title: 'destroyed elsewhere' });
    const mine = new a.Todo({ id: created.id });
    await succeed((o) => mine.fetch(o), 'fetch');

    const sent = [];
    const emit = a.socket.emit;
    a.socket.emit = function (event, ...rest) {
      sent.push(event);
      return emit.call(this, event, ...rest);
    };
    const errors = [];
    mine.on('error', (model, err) => errors.push(err));
    // Backbone triggers "sync" when the delete the original sends is acked.
    const echoAcked = new Promise((resolve) => mine.once('sync', resolve));

    await ok(raw, 'Todos:delete', { id: created.id });
    const acked = await within(echoAcked, 3000, 'the echoed delete').then(
      () => true,
      () => false
    );
    assert.deepEqual(sent, ['Todos:delete'], 'the original answers serverdestroy with a delete');
    assert.ok(acked, 'the echoed delete was acked with success');
    assert.deepEqual(errors, []);
  });
});
