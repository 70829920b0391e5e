// Cross-tenant attempts: by model id, by view name, by namespace spelling,
// and by token. Each is refused, and no push crosses from one tenant to
// another.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startHalo, printLogsOnFailure } from '../e2e/harness.mjs';
import { sign, now } from '../e2e/jwt.mjs';
import { rawSocket, rawCall } from './raw.mjs';

const SECRET = 'the secret of tenant c only';
let halo;

before(async () => {
  halo = await startHalo({
    tenants: {
      a: { plugins: ['my_models', 'todos'] },
      b: { plugins: ['my_models'] },
      c: { plugins: ['my_models'], toml: `[auth]\nalgorithm = "HS256"\naudience = "c"\nsecret = "${SECRET}"\n` },
    },
  });
});
after(() => halo?.stop());
printLogsOnFailure(() => halo);

/** A `[err, result]` for `event` on namespace `ns` of `raw`. */
async function call(raw, ns, id, event, data) {
  raw.send(`42${ns},${id}${JSON.stringify([event, data])}`);
  return JSON.parse((await raw.next(`43${ns},${id}[`)).slice(`43${ns},${id}`.length));
}

test("another tenant's model id is not found, for read, update and delete", async () => {
  const a = await rawSocket(halo.url, { ns: '/a' });
  const b = await rawSocket(halo.url, { ns: '/b' });
  const [, model] = await call(a, '/a', 1, 'MyModels:create', { secret: 'of a' });
  assert.equal((await call(b, '/b', 2, 'MyModels:read', { id: model.id }))[0].code, 'not_found');
  assert.equal((await call(b, '/b', 3, 'MyModels:update', { id: model.id, secret: 'b was here' }))[0].code, 'not_found');
  await call(b, '/b', 4, 'MyModels:delete', { id: model.id });
  const [, still] = await call(a, '/a', 5, 'MyModels:read', { id: model.id });
  assert.equal(still.secret, 'of a', "a's model is untouched");
  const [, listed] = await call(b, '/b', 6, 'MyModels:list', []);
  assert.ok(!listed.some((m) => m.id === model.id));
});

test("a view only another tenant has is unknown_view", async () => {
  const b = await rawSocket(halo.url, { ns: '/b' });
  assert.equal((await call(b, '/b', 1, 'Todos:list', []))[0].code, 'unknown_view');
});

test('namespace spellings that are not a tenant are refused', async () => {
  for (const ns of ['/a/../b', '/A', '/a/', '/./a', '/a%2f..%2fb', '/a\\b', '/tenants/a']) {
    const raw = await rawSocket(halo.url, { join: false });
    raw.send(`40${ns},`);
    const answer = await raw.next((m) => typeof m === 'string' && /^4[04]/.test(m));
    assert.ok(answer.startsWith('44'), `${ns} was admitted: ${answer}`);
    raw.ws.close();
  }
});

test('tenant c takes only its own tokens', async () => {
  const good = sign('HS256', SECRET, { sub: 'u', aud: 'c', exp: now() + 60 });
  const forged = sign('HS256', 'another tenant secret', { sub: 'u', aud: 'c', exp: now() + 60 });
  const otherAudience = sign('HS256', SECRET, { sub: 'u', aud: 'a', exp: now() + 60 });
  for (const [token, admitted] of [[good, true], [forged, false], [otherAudience, false], [undefined, false]]) {
    const raw = await rawSocket(halo.url, { join: false });
    raw.send(`40/c,${JSON.stringify(token ? { token } : {})}`);
    const answer = await raw.next((m) => typeof m === 'string' && /^4[04]\/c,/.test(m));
    assert.equal(answer.startsWith('40'), admitted, answer);
    if (!admitted) assert.match(answer, /unauthorized/);
    raw.ws.close();
  }
});

test("no push crosses tenants: b's subscriber sees its own marker and nothing of a's", async () => {
  const a = await rawSocket(halo.url, { ns: '/a' });
  const b = await rawSocket(halo.url, { ns: '/b' });
  const bWriter = await rawSocket(halo.url, { ns: '/b' });
  await call(b, '/b', 1, 'MyModels:list', []);
  for (let i = 0; i < 5; i++) await call(a, '/a', 10 + i, 'MyModels:create', { from: 'a' });
  await call(bWriter, '/b', 1, 'MyModels:create', { from: 'b', marker: true });
  const push = await b.next('42/b,');
  assert.match(push, /"marker":true/, `the first push b saw: ${push}`);
  assert.ok(!b.inbox.some((m) => m.includes('"from":"a"')));
});
