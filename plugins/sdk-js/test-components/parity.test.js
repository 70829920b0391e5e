// The example views written with the JavaScript and Python SDKs, built into
// components and run in node against the in-memory host, must answer every
// request exactly as the Rust examples' components do: same results, same
// error codes and messages, same stored models. `npm run test:components`
// (after `npm ci` with the dev dependencies). Components come from:
// * JavaScript: built here with halo-view-build, against $HALO_JS_WIT
//   (0.1.0 unless set; 0.2.0 checks the other world);
// * Python: $HALO_PY_NOTES_WASM, or built with build/venv's halo-view-build-py;
// * Rust: $HALO_RUST_WASM_DIR, or plugins/target/wasm32-wasip2/release
//   (`make plugins`).
// A component that cannot be had is skipped, saying why.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from '../src/build.js';
import { jsonEqual } from '../src/json.js';
import * as t from '../src/testing/index.js';
import { loadComponent } from '../src/testing/component.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const RUST_DIR = process.env.HALO_RUST_WASM_DIR ?? path.join(REPO, 'plugins/target/wasm32-wasip2/release');
const JS_WIT = process.env.HALO_JS_WIT ?? '0.1.0';
const scratch = mkdtempSync(path.join(os.tmpdir(), 'halo-parity-'));
after(() => execFileSync('rm', ['-rf', scratch]));

const alice = new t.Client('c1', '', { user: 'alice' });
const bob = new t.Client('c2', '', { user: 'bob' });
const carol = new t.Client('c3', '', { user: 'carol' });
const stranger = new t.Client('c4', '', {});

/** The Rust example `name`, or why it is missing. */
function rust(name) {
  const file = path.join(RUST_DIR, `${name}.wasm`);
  return existsSync(file) ? { file } : { skip: `no ${file}: run make plugins, or set HALO_RUST_WASM_DIR` };
}

async function js(example) {
  const file = path.join(scratch, `${example}.wasm`);
  await build({ view: path.join(REPO, 'plugins/js', example, 'view.js'), out: file, wit: JS_WIT });
  return { file };
}

function python() {
  if (process.env.HALO_PY_NOTES_WASM) return { file: process.env.HALO_PY_NOTES_WASM };
  const tool = path.join(REPO, 'build/venv/bin/halo-view-build-py');
  if (!existsSync(tool)) return { skip: `no ${tool}: set up build/venv, or set HALO_PY_NOTES_WASM` };
  const file = path.join(scratch, 'notes-py.wasm');
  execFileSync(tool, [path.join(REPO, 'plugins/py/notes/notes.py'), '-o', file], { stdio: 'ignore' });
  return { file };
}

/**
 * Runs `script` on a fresh host against `view` and returns everything
 * observable: the spec, each answer (or error), and the stored models.
 */
function observe(view, collection, script) {
  t.reset();
  const seen = [];
  const ask = (client, action, data) => {
    try {
      const result = t.call(view, action, client, data);
      seen.push({ action, result });
      return result;
    } catch (err) {
      if (!(err instanceof Error && 'code' in err)) throw err;
      seen.push({ action, code: err.code, message: err.message });
      return null;
    }
  };
  const show = (client, model) => seen.push({ render: t.render(view, client, model) });
  script({ ask, show, insert: t.insert });
  return { spec: t.spec(view), seen, models: t.models(collection) };
}

/** Asserts both components observe the same for `script`, step by step. */
async function same(ours, theirs, collection, script) {
  const a = observe(await loadComponent(ours.file), collection, script);
  const b = observe(await loadComponent(theirs.file), collection, script);
  assert.ok(jsonEqual(a.spec, b.spec), `spec\n${JSON.stringify(a.spec)}\n${JSON.stringify(b.spec)}`);
  assert.equal(a.seen.length, b.seen.length);
  a.seen.forEach((step, i) => {
    assert.ok(jsonEqual(step, b.seen[i]), `step ${i}\nours:   ${JSON.stringify(step)}\ntheirs: ${JSON.stringify(b.seen[i])}`);
  });
  assert.ok(jsonEqual(a.models, b.models), `models\n${JSON.stringify(a.models)}\n${JSON.stringify(b.models)}`);
}

const ID1 = '00000000000070008000000000000001';

test('MyModels in JavaScript answers as in Rust', async (ctx) => {
  const theirs = rust('my_models');
  if (theirs.skip) return ctx.skip(theirs.skip);
  await same(await js('my-models'), theirs, 'MyModels', ({ ask }) => {
    ask(alice, 'create', { other: 1 });
    ask(alice, 'create', { someProperty: 'mine', id: 'x' });
    ask(alice, 'update', { id: ID1, someProperty: 'b', other: 2 });
    ask(alice, 'update', { id: 'nope', someProperty: 'b' });
    ask(alice, 'update', { someProperty: 'b' });
    ask(alice, 'update', { id: 5 });
    ask(alice, 'update', { id: ID1 });
    ask(alice, 'update', [1]);
    ask(alice, 'read', { id: ID1 });
    ask(alice, 'list', null);
    for (const action of ['patch', 'delete', 'destroy', 'archive']) ask(alice, action, { id: ID1 });
  });
});

test('Todos in JavaScript answers as in Rust', async (ctx) => {
  const theirs = rust('todos');
  if (theirs.skip) return ctx.skip(theirs.skip);
  await same(await js('todos'), theirs, 'Todos', ({ ask }) => {
    ask(alice, 'create', { title: '  milk  ' });
    for (const data of [{}, { title: '   ' }, { title: 7 }, { title: 'x', completed: 'yes' }, [1], 'x', null, { title: '\u00a0tab\t' }]) {
      ask(alice, 'create', data);
    }
    ask(alice, 'patch', { id: ID1, completed: true });
    ask(alice, 'update', { id: ID1, title: ' bread ' });
    ask(alice, 'patch', { id: ID1, title: '' });
    ask(alice, 'patch', { id: ID1, completed: 1 });
    ask(alice, 'patch', { id: 'gone', completed: true });
    ask(alice, 'patch', { completed: true });
    ask(alice, 'update', { id: ID1, extra: { nested: [1, 2] } });
    ask(alice, 'read', { id: ID1 });
    ask(alice, 'list', null);
    ask(alice, 'destroy', { id: ID1 });
    ask(alice, 'delete', { id: ID1 });
    ask(alice, 'read', { id: ID1 });
  });
});

test('Notes in Python answers as in Rust', async (ctx) => {
  const theirs = rust('notes');
  if (theirs.skip) return ctx.skip(theirs.skip);
  const ours = python();
  if (ours.skip) return ctx.skip(ours.skip);
  await same(ours, theirs, 'Notes', ({ ask, show, insert }) => {
    insert('Notes', { id: 'n0', owner: 'carol', text: 'carol alone', sharedWith: [] });
    const note = ask(alice, 'create', { text: 'for bob', sharedWith: ['bob'], owner: 'mallory' });
    for (const data of [{}, { text: 7 }, { text: 'x', sharedWith: 'bob' }, { text: 'x', sharedWith: [1] }, [1], { text: 'x', sharedWith: null }]) {
      ask(alice, 'create', data);
    }
    ask(stranger, 'create', { text: 'x' });
    for (const client of [alice, bob, carol, stranger]) {
      ask(client, 'list', null);
      ask(client, 'read', { id: note.id });
      show(client, note);
    }
    ask(alice, 'read', { id: 'gone' });
    ask(bob, 'update', { id: note.id, text: 'bob was here' });
    ask(carol, 'patch', { id: note.id, text: 'carol' });
    ask(alice, 'patch', { id: note.id, owner: 'bob' });
    ask(alice, 'patch', { id: note.id, text: 1 });
    ask(alice, 'patch', { id: note.id, owner: 'alice', text: 'after' });
    ask(alice, 'patch', { id: note.id, sharedWith: [] });
    ask(bob, 'list', null);
    ask(alice, 'update', { id: note.id, sharedWith: ['bob', 'carol'] });
    ask(carol, 'list', null);
    ask(bob, 'delete', { id: note.id });
    ask(carol, 'delete', { id: 'n0' });
    ask(stranger, 'delete', { id: note.id });
    ask(alice, 'destroy', { id: note.id });
    ask(alice, 'delete', { id: note.id });
    show(alice, { id: 'odd', text: 'no owner' });
    show(bob, [1]);
  });
});
