// Malformed Engine.IO and Socket.IO frames, each on a raw websocket. Every
// one is either answered or ends the connection (the namespace's disconnect
// packet, or the websocket closed); none is applied without an answer, none
// crashes the host, and other clients go on being served.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startHalo, printLogsOnFailure } from '../e2e/harness.mjs';
import { rawSocket, rawCall } from './raw.mjs';

let halo;
let watcher;

before(async () => {
  halo = await startHalo({ plugins: ['my_models'] });
  watcher = await rawSocket(halo.url);
});
after(() => halo?.stop());
printLogsOnFailure(() => halo);

const create = (mark) => JSON.stringify(['MyModels:create', { mark }]);

// [what, frame(mark), outcome]: 'closed' (namespace left or websocket
// closed) or 'answered' (an error ack with that code).
const CASES = [
  ['no ack id', (m) => `42${create(m)}`, 'closed'],
  ['ack id above i64::MAX', (m) => `429223372036854775808${create(m)}`, 'closed'],
  ['ack id far above i64::MAX', (m) => `42${'9'.repeat(40)}${create(m)}`, 'closed'],
  ['a space after the ack id', (m) => `425 ${create(m)}`, 'closed'],
  ['a tab after the ack id', (m) => `425\t${create(m)}`, 'closed'],
  ['a newline after the ack id', (m) => `425\n${create(m)}`, 'closed'],
  ['a negative ack id', (m) => `42-5${create(m)}`, 'closed'],
  ['an attachment placeholder without its attachment', (m) => `451-5["MyModels:create",{"mark":"${m}","b":{"_placeholder":true,"num":0}}]`, 'closed'],
  ['many announced attachments', (m) => `4599999-5${create(m)}`, 'closed'],
  ['an event name with an escaped newline', (m) => `425["MyModels:create\\n",{"mark":"${m}"}]`, 'closed'],
  ['an event name with an escaped NUL', (m) => `425["MyModels\\u0000:create",{"mark":"${m}"}]`, 'closed'],
  ['an event name with a lone surrogate', (m) => `425["MyModels:create\\ud800",{"mark":"${m}"}]`, 'closed'],
  ['an event name that is a number', (m) => `425[5,{"mark":"${m}"}]`, 'closed'],
  ['an empty argument list', () => '425[]', 'closed'],
  ['arguments that are an object', (m) => `425{"mark":"${m}"}`, 'closed'],
  ['an unknown Engine.IO packet type', (m) => `9${create(m)}`, 'closed'],
  ['an unknown Socket.IO packet type', (m) => `495${create(m)}`, 'closed'],
  ['an empty Engine.IO message', () => '4', 'closed'],
  ['an empty frame', () => '', 'closed'],
  ['a CONNECT_ERROR from the client', () => '44{"message":"x"}', 'closed'],
  ['arguments cut short (not JSON)', (m) => `425["MyModels:create",{"mark":"${m}"`, 'closed'],
  ['data with a number out of range', (m) => `425["MyModels:create",{"mark":"${m}","n":1e999}]`, 'answered:invalid'],
  ['trailing bytes after the arguments', (m) => `425["MyModels:create",{"mark":"${m}"}]]]`, 'answered:invalid'],
  ['an unknown view', () => '425["Nope:create",{}]', 'answered:unknown_view'],
  ['an event name without an action', () => '425["MyModels",{}]', 'answered'],
  ['a huge ack id that fits', (m) => `429223372036854775807${create(m)}`, 'answered:ok'],
];

async function outcome(raw, id) {
  const left = raw.next((m) => typeof m === 'string' && m.startsWith('41')).then(() => 'closed');
  const closed = raw.closed.then(() => 'closed');
  const acked = raw.next((m) => typeof m === 'string' && m.startsWith(`43${id}[`)).then((m) => JSON.parse(m.slice(`43${id}`.length)));
  return Promise.race([left, closed, acked]);
}

async function stored() {
  const [, models] = await rawCall(watcher, Date.now() % 100000, 'MyModels:list', []);
  return new Set(models.map((m) => m.mark));
}

for (const [what, frame, expected] of CASES) {
  test(`${what}: ${expected}`, async () => {
    const mark = `m-${what}`;
    const raw = await rawSocket(halo.url);
    const ackId = expected.endsWith(':ok') ? '9223372036854775807' : '5';
    raw.send(frame(mark));
    const got = await outcome(raw, ackId);
    if (expected === 'closed') {
      assert.equal(got, 'closed', `got an answer: ${JSON.stringify(got)}`);
      assert.ok(!(await stored()).has(mark), 'what was not answered was not applied');
    } else if (expected === 'answered:ok') {
      assert.equal(got[0], null);
    } else {
      assert.ok(Array.isArray(got), `expected an answer, the connection was ${got}`);
      assert.ok(got[0] && typeof got[0].code === 'string');
      const code = expected.split(':')[1];
      if (code) assert.equal(got[0].code, code);
      assert.ok(!(await stored()).has(mark));
    }
    raw.ws.close();
  });
}

test('a binary frame no packet announced closes the connection', async () => {
  const raw = await rawSocket(halo.url);
  raw.ws.send(Buffer.from([1, 2, 3]));
  await raw.whenClosed();
});

test('after all of that the host still serves, and a malformed client never disturbed the others', async () => {
  const [err, model] = await rawCall(watcher, 77, 'MyModels:create', { mark: 'after' });
  assert.equal(err, null);
  assert.equal(model.mark, 'after');
  assert.equal(halo.exitedCode?.(), undefined);
});
