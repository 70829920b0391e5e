// One script against the Rust and Python builds of the Notes view
// (plugins/notes, plugins/py/notes): per-client render from the handshake's
// `user` claim, owner-only writes, and pushes that follow who may see a
// note, alike in both languages (the Rust view implements halo:view@0.1.0,
// the Python one 0.2.0).

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { connect, disconnectAll, call, ok, nextEvent, nextEventWhere, record } from './harness.mjs';
import { languages, serveBuilds } from './languages.mjs';

const LANGUAGES = languages([
  { label: 'Rust', builds: { Notes: 'rust/notes' } },
  { label: 'Python', builds: { Notes: 'py-notes' } },
]);

const note = (text, sharedWith = []) => ({ text, sharedWith });

for (const { label, builds, skip } of LANGUAGES) {
  describe(`Notes in ${label}`, { skip }, () => {
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

    const as = (user) => connect(halo.url, { auth: { user } });

    async function aliceSharesWithBob(text) {
      const alice = await as('alice');
      const created = await ok(alice, 'Notes:create', note(text, ['bob']));
      assert.deepEqual(created, { id: created.id, text, owner: 'alice', sharedWith: ['bob'] });
      return { alice, created };
    }

    /** Alice shares a note with carol and waits until carol hears of it: a marker for carol's pushes. */
    let marks = 0;
    async function markerFor(alice, carol) {
      marks += 1;
      const text = `for carol ${marks}`;
      const heard = nextEventWhere(carol, 'Notes:serveradd', (notes) => notes.some((n) => n.text === text));
      await ok(alice, 'Notes:create', note(text, ['carol']));
      await heard;
    }

    test('the owner is the creator, whatever the client sends', async () => {
      const alice = await as('alice');
      const created = await ok(alice, 'Notes:create', { text: 'mine', owner: 'mallory' });
      assert.deepEqual(created, { id: created.id, text: 'mine', owner: 'alice', sharedWith: [] });
      const { err } = await call(alice, 'Notes:create', { text: 7 });
      assert.deepEqual(err, { code: 'invalid', message: 'text must be a string' });
    });

    test('bob lists and reads a note shared with him; carol sees nothing of it', async () => {
      const { created } = await aliceSharesWithBob('for bob');
      const bob = await as('bob');
      const carol = await as('carol');
      assert.deepEqual((await ok(bob, 'Notes:list', [])).find((n) => n.id === created.id), created);
      assert.equal((await ok(carol, 'Notes:list', [])).find((n) => n.id === created.id), undefined);
      assert.deepEqual(await ok(bob, 'Notes:read', { id: created.id }), created);
      assert.equal((await call(carol, 'Notes:read', { id: created.id })).err?.code, 'not_found');
    });

    test('a new note is pushed to bob’s list but not to carol’s', async () => {
      const bob = await as('bob');
      const carol = await as('carol');
      await ok(bob, 'Notes:list', []);
      await ok(carol, 'Notes:list', []);
      const bobHears = nextEvent(bob, 'Notes:serveradd');
      const carolHeard = record(carol, 'Notes:serveradd');
      const { alice, created } = await aliceSharesWithBob('pushed to bob');
      assert.deepEqual((await bobHears).find((n) => n.id === created.id), created);
      await markerFor(alice, carol);
      carolHeard.stop();
      assert.deepEqual(carolHeard.payloads.flat().filter((n) => n.id === created.id), []);
    });

    test('only the owner may change or delete a note', async () => {
      const { alice, created } = await aliceSharesWithBob('alice wrote this');
      const bob = await as('bob');
      const carol = await as('carol');
      assert.equal((await call(bob, 'Notes:update', { ...created, text: 'bob' })).err?.code, 'forbidden');
      assert.equal((await call(carol, 'Notes:patch', { id: created.id, text: 'carol' })).err?.code, 'not_found');
      assert.equal((await call(alice, 'Notes:patch', { id: created.id, owner: 'bob' })).err?.code, 'forbidden');
      assert.equal((await call(bob, 'Notes:delete', { id: created.id })).err?.code, 'forbidden');
      assert.equal((await ok(alice, 'Notes:read', { id: created.id })).text, 'alice wrote this');
      assert.deepEqual(await ok(alice, 'Notes:delete', { id: created.id }), { id: created.id });
      assert.deepEqual(await ok(alice, 'Notes:delete', { id: created.id }), { id: created.id });
    });

    test('a client without a user may not create or read notes, and lists none', async () => {
      const { created } = await aliceSharesWithBob('members only');
      const anonymous = await connect(halo.url);
      assert.equal((await call(anonymous, 'Notes:create', note('anonymous'))).err?.code, 'forbidden');
      assert.equal((await call(anonymous, 'Notes:read', { id: created.id })).err?.code, 'forbidden');
      assert.deepEqual(await ok(anonymous, 'Notes:list', []), []);
    });

    test('shared, unshared and shared again, a note leaves and rejoins bob’s list, update by update', async () => {
      const { alice, created } = await aliceSharesWithBob('one');
      const bob = await as('bob');
      await ok(bob, 'Notes:list', []);
      const step = async (event, attributes) => {
        const heard = nextEvent(bob, event);
        await ok(alice, 'Notes:update', { id: created.id, ...attributes });
        return heard;
      };
      assert.deepEqual(await step(`Notes/${created.id}:serverchange`, { text: 'two' }), { id: created.id, text: 'two' });
      assert.deepEqual(await step('Notes:serverremove', { sharedWith: [] }), [{ id: created.id }]);
      const added = await step('Notes:serveradd', { text: 'four', sharedWith: ['bob'] });
      assert.deepEqual(added.find((n) => n.id === created.id), { ...created, text: 'four' });
      assert.deepEqual(await step(`Notes/${created.id}:serverchange`, { text: 'five' }), { id: created.id, text: 'five' });
    });
  });
}
