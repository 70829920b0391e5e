// What operators poll and read: /healthz, /readyz, /metrics in Prometheus
// text, and JSON log lines tagged with the request they are about.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startHalo,
  connect,
  disconnectAll,
  ok,
  call,
  nextEvent,
  eventually,
  printLogsOnFailure,
} from './harness.mjs';

const TOKEN = 'metrics-token';
let halo;

before(async () => {
  halo = await startHalo({
    plugins: ['my_models', 'echo'],
    args: ['--log-format', 'json', '--admin-token', TOKEN],
  });
});

after(async () => {
  disconnectAll();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

/** Scrapes /metrics: a map from `name{labels}` to value. */
async function scrape() {
  const res = await fetch(`${halo.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const samples = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

const value = (samples, key) => samples.get(key) ?? 0;
const requests = (view, action, outcome, code = '') =>
  `halo_requests_total{tenant="",view="${view}",action="${action}",outcome="${outcome}",code="${code}"}`;

test('/healthz and /readyz answer 200 once the views are loaded', async () => {
  const health = await fetch(`${halo.url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(await health.text(), 'ok\n');
  const ready = await fetch(`${halo.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(await ready.text(), 'ready\n');
});

test('/metrics asks for the admin token when one is set', async () => {
  assert.equal((await fetch(`${halo.url}/metrics`)).status, 401);
  const wrong = await fetch(`${halo.url}/metrics`, { headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
});

test('metrics count requests by view, action and outcome, plugin calls, commits, pushes and connections', async () => {
  const before = await scrape();
  const writer = await connect(halo.url);
  const watcher = await connect(halo.url);
  await ok(watcher, 'MyModels:list', []);
  const created = await ok(writer, 'MyModels:create', { someProperty: 'a' });
  const pushed = nextEvent(watcher, `MyModels/${created.id}:serverchange`);
  await ok(writer, 'MyModels:update', { id: created.id, someProperty: 'b' });
  await pushed;
  const refused = await call(writer, 'MyModels:delete', { id: created.id });
  assert.equal(refused.err.code, 'forbidden');
  // Names the client makes up are not labels: they would grow without end.
  const unknown = await call(writer, 'Invented:thing', {});
  assert.equal(unknown.err.code, 'unknown_view');

  await eventually(async () => {
    const now = await scrape();
    const grew = (key) => value(now, key) - value(before, key);
    assert.equal(grew(requests('MyModels', 'create', 'ok')), 1);
    assert.equal(grew(requests('MyModels', 'update', 'ok')), 1);
    assert.equal(grew(requests('MyModels', 'list', 'ok')), 1);
    assert.equal(grew(requests('MyModels', 'delete', 'error', 'forbidden')), 1);
    assert.equal(grew(requests('', '', 'error', 'unknown_view')), 1);
    assert.ok(![...now.keys()].some((key) => key.includes('Invented')), 'no label from a made-up name');
    // MyModels' update is a custom handler: one Wasm call at least.
    assert.ok(grew('halo_plugin_call_duration_seconds_count{tenant="",view="MyModels"}') >= 1);
    assert.ok(grew('halo_store_commit_duration_seconds_count') >= 2, 'create and update committed');
    assert.ok(grew('halo_pushes_sent_total') >= 2, 'serveradd and serverchange pushed');
    assert.equal(value(now, 'halo_connections{tenant=""}'), 2);
    assert.equal(value(now, 'halo_tenants_loaded'), 1);
    assert.ok(value(now, 'halo_plugin_instances{tenant=""}') >= 1, 'a warm instance is kept');
    assert.equal(value(now, 'halo_pushes_dropped_total'), 0);
  });
  watcher.disconnect();
  await eventually(async () => assert.equal(value(await scrape(), 'halo_connections{tenant=""}'), 1));
});

test('JSON log lines a view writes during a request name its tenant, view, action and connection', async () => {
  const client = await connect(halo.url);
  await eventually(async () => assert.equal(await ok(client, 'Echo:log', 'marker-json-7'), true), 5000);
  const marked = () =>
    halo
      .logs()
      .split('\n')
      .filter((line) => line.includes('marker-json-7'))
      .map((line) => JSON.parse(line.slice(line.indexOf('{'))));
  // Its log import, its stdout and its stderr.
  await eventually(() =>
    assert.deepEqual(new Set(marked().map((line) => line.stream ?? 'log')), new Set(['log', 'stdout', 'stderr'])),
  );
  for (const line of marked()) {
    assert.deepEqual(
      { tenant: line.tenant, view: line.view, action: line.action, connection: line.connection },
      { tenant: '', view: 'Echo', action: 'log', connection: client.id },
      JSON.stringify(line),
    );
    assert.ok(line.timestamp && line.level, 'a timestamp and a level');
  }
});

test('hot reloads are counted by outcome', async () => {
  const before = await scrape();
  const key = (outcome) => `halo_hot_reloads_total{tenant="",outcome="${outcome}"}`;
  assert.ok(value(before, key('loaded')) >= 2, 'the views loaded at start count');
  fs.writeFileSync(path.join(halo.pluginsDir, 'broken.wasm'), 'not a component');
  await eventually(async () => assert.equal(value(await scrape(), key('refused')) - value(before, key('refused')), 1), 5000);
  fs.rmSync(path.join(halo.pluginsDir, 'broken.wasm'));
  fs.rmSync(path.join(halo.pluginsDir, 'echo.wasm'));
  await eventually(async () => assert.equal(value(await scrape(), key('removed')) - value(before, key('removed')), 1), 5000);
  fs.copyFileSync(path.join(process.env.HALO_WASM_DIR, 'echo.wasm'), path.join(halo.pluginsDir, 'echo.wasm'));
  await eventually(async () => assert.equal(value(await scrape(), key('loaded')) - value(before, key('loaded')), 1), 5000);
});
