// The notes view decides per user: claims come from the handshake's `auth`
// (`io(url, {auth: {user: 'alice'}})`); a note is seen by its owner and by the
// users it is shared with, and only its owner may change it.

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
  printLogsOnFailure,
} from './harness.mjs';

let halo;

before(async () => {
  halo = await startHalo({ plugins: ['notes'] });
});

after(async () => {
  disconnectAll();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

/** A note as a client creates it: its text and who else may see it. */
const note = (text, sharedWith = []) => ({ text, sharedWith });

const as = (user) => connect(halo.url, { auth: { user } });

/**
 * Alice shares a new note with carol, who lists notes, and waits until carol
 * hears of it. Pushes reach a connection in commit order, so whatever an
 * earlier write of alice's sent carol has arrived by then.
 */
let sharedWithCarol = 0;
async function sharedWithCarolAfter(alice, carol) {
  sharedWithCarol += 1;
  const text = `for carol ${sharedWithCarol}`;
  const heard = nextEventWhere(carol, 'Notes:serveradd', (notes) => notes.some((n) => n.text === text));
  await ok(alice, 'Notes:create', note(text, ['carol']));
  await heard;
}

async function aliceSharesWithBob(text) {
  const alice = await as('alice');
  const created = await ok(alice, 'Notes:create', note(text, ['bob']));
  assert.equal(typeof created.id, 'string');
  assert.equal(created.text, text);
  return { alice, created };
}

test('alice creates a note shared with bob: bob lists it, carol does not', async () => {
  const { created } = await aliceSharesWithBob('for bob');
  const bobs = await ok(await as('bob'), 'Notes:list', []);
  const carols = await ok(await as('carol'), 'Notes:list', []);
  assert.equal(bobs.find((n) => n.id === created.id)?.text, 'for bob');
  assert.equal(carols.find((n) => n.id === created.id), undefined);
});

test('carol cannot read a note that is not shared with her', async () => {
  const { created } = await aliceSharesWithBob('not for carol');
  const { err } = await call(await as('carol'), 'Notes:read', { id: created.id });
  assert.equal(err?.code, 'not_found', `got ${JSON.stringify(err)}`);
});

test('bob can read the note alice shared with him', async () => {
  const { created } = await aliceSharesWithBob('readable');
  assert.equal((await ok(await as('bob'), 'Notes:read', { id: created.id })).text, 'readable');
});

test('a new note is pushed to bob’s list but not to carol’s', async () => {
  const bob = await as('bob');
  const carol = await as('carol');
  await ok(bob, 'Notes:list', []);
  await ok(carol, 'Notes:list', []);
  const bobHears = nextEvent(bob, 'Notes:serveradd');
  const carolHeard = record(carol, 'Notes:serveradd');
  const { alice, created } = await aliceSharesWithBob('pushed to bob');
  assert.equal((await bobHears).find((n) => n.id === created.id)?.text, 'pushed to bob');
  await sharedWithCarolAfter(alice, carol);
  carolHeard.stop();
  assert.deepEqual(carolHeard.payloads.flat().filter((n) => n.id === created.id), []);
});

test('alice’s update is pushed to bob, and carol hears nothing of it', async () => {
  const { alice, created } = await aliceSharesWithBob('before');
  const bob = await as('bob');
  const carol = await as('carol');
  await ok(bob, 'Notes:list', []);
  await ok(carol, 'Notes:list', []);
  const bobHears = nextEvent(bob, `Notes/${created.id}:serverchange`);
  const carolHeard = record(carol, `Notes/${created.id}:serverchange`);
  await ok(alice, 'Notes:update', { ...created, text: 'after' });
  assert.equal((await bobHears).text, 'after');
  await sharedWithCarolAfter(alice, carol);
  carolHeard.stop();
  assert.deepEqual(carolHeard.payloads, []);
});

test('bob may not change alice’s note', async () => {
  const { alice, created } = await aliceSharesWithBob('alice wrote this');
  const bob = await as('bob');
  const { err } = await call(bob, 'Notes:update', { ...created, text: 'bob was here' });
  assert.equal(err?.code, 'forbidden', `got ${JSON.stringify(err)}`);
  assert.equal((await ok(alice, 'Notes:read', { id: created.id })).text, 'alice wrote this');
});

test('a client without a user may not create or read notes, and lists none', async () => {
  const { created } = await aliceSharesWithBob('members only');
  let anonymous;
  try {
    anonymous = await connect(halo.url);
  } catch (err) {
    // Refused at the handshake: that is a refusal too.
    const code = err.data?.code ?? err.message;
    assert.match(String(code), /forbidden/, `refused with ${JSON.stringify(err.data ?? err.message)}`);
    return;
  }
  const create = await call(anonymous, 'Notes:create', note('anonymous'));
  assert.equal(create.err?.code, 'forbidden', `create: got ${JSON.stringify(create)}`);
  const read = await call(anonymous, 'Notes:read', { id: created.id });
  assert.equal(read.err?.code, 'forbidden', `read: got ${JSON.stringify(read)}`);
  const list = await call(anonymous, 'Notes:list', []);
  if (list.err) assert.equal(list.err.code, 'forbidden');
  else assert.deepEqual(list.result, []);
});

test('a note shared, unshared and shared again with bob leaves and rejoins his list, update by update', async () => {
  // Consecutive changes of one model: each push diffs against what bob was
  // last shown.
  const { alice, created } = await aliceSharesWithBob('one');
  const bob = await as('bob');
  await ok(bob, 'Notes:list', []);
  const step = async (event, attributes) => {
    const heard = nextEvent(bob, event);
    await ok(alice, 'Notes:update', { id: created.id, ...attributes });
    return heard;
  };
  const changed = await step(`Notes/${created.id}:serverchange`, { text: 'two' });
  assert.deepEqual(changed, { id: created.id, text: 'two' });
  const removed = await step('Notes:serverremove', { sharedWith: [] });
  assert.deepEqual(removed, [{ id: created.id }]);
  const added = await step('Notes:serveradd', { text: 'four', sharedWith: ['bob'] });
  assert.equal(added.find((n) => n.id === created.id)?.text, 'four');
  const again = await step(`Notes/${created.id}:serverchange`, { text: 'five' });
  assert.deepEqual(again, { id: created.id, text: 'five' });
});
