// Tenants come and go while halo runs: folders added and removed, idle
// tenants unloaded and loaded again on demand, tenant.toml edits applied,
// reloads that widen a view's permissions reported, data kept until dropped.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  REPO,
  startHalo,
  writeTenant,
  copyPlugin,
  connect,
  attempt,
  ok,
  eventually,
  within,
  disconnectAll,
  printLogsOnFailure,
} from './harness.mjs';

import { sign, keyPair, now } from './jwt.mjs';

const ADMIN = 'lifecycle-admin-token';
let halo;

before(async () => {
  halo = await startHalo({
    tenants: {
      alpha: { plugins: ['todos'] },
      bravo: { plugins: ['todos'] },
      shape: { plugins: ['probe'] },
    },
    args: ['--admin-token', ADMIN, '--tenant-idle-secs', '1'],
  });
});

after(async () => {
  disconnectAll();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

const at = (tenant) => `${halo.url}/${tenant}`;

async function tenants() {
  const res = await fetch(`${halo.url}/admin/tenants`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(res.status, 200);
  return Object.fromEntries((await res.json()).tenants.map((t) => [t.name, t]));
}

function drop(name, ...flags) {
  return spawnSync(
    path.resolve(REPO, process.env.HALO_BIN),
    ['tenant', 'drop', name, '--data', halo.dataDir, '--tenants', halo.tenantsDir, ...flags],
    { encoding: 'utf8' }
  );
}

test('tenants load on their first connection and unload when idle', async () => {
  const before = await tenants();
  assert.equal(before.alpha.loaded, false, 'nothing is loaded before a client comes');
  assert.equal(before.bravo.loaded, false);

  const client = await connect(at('alpha'));
  const todo = await ok(client, 'Todos:create', { title: 'survives unloading' });
  const loaded = await tenants();
  assert.equal(loaded.alpha.loaded, true);
  assert.equal(loaded.alpha.connections, 1);
  assert.equal(loaded.bravo.loaded, false, 'other tenants stay unloaded');

  client.disconnect();
  await eventually(async () => assert.equal((await tenants()).alpha.loaded, false), 5000, 100);
  assert.match(halo.logs(), /tenant unloaded: idle.*|tenant="?alpha"?.*tenant unloaded: idle/);

  const back = await connect(at('alpha'));
  assert.equal((await ok(back, 'Todos:read', { id: todo.id })).title, 'survives unloading');
});

test('a tenant folder added while running comes up; removed, it goes down and keeps its data', async () => {
  await writeTenant(halo.tenantsDir, 'charlie', { plugins: ['todos'] });
  const client = await eventually(() => connect(at('charlie')), 5000, 100);
  const todo = await ok(client, 'Todos:create', { title: 'kept' });

  const disconnected = new Promise((resolve) => client.once('disconnect', resolve));
  await fsp.rm(path.join(halo.tenantsDir, 'charlie'), { recursive: true });
  await within(disconnected, 5000, 'the client is disconnected');
  await eventually(async () => {
    const err = await attempt(at('charlie'));
    assert.match(err?.message ?? 'connected', /Invalid namespace/);
  }, 5000, 100);
  assert.ok(!('charlie' in (await tenants())));
  assert.ok(fs.existsSync(path.join(halo.dataDir, 'tenants', 'charlie')), 'its data is kept');

  await writeTenant(halo.tenantsDir, 'charlie', { plugins: ['todos'] });
  const back = await eventually(() => connect(at('charlie')), 5000, 100);
  assert.equal((await ok(back, 'Todos:read', { id: todo.id })).title, 'kept');
  back.disconnect();
});

test('halo tenant drop deletes data only when asked, and only for a removed tenant', async () => {
  await writeTenant(halo.tenantsDir, 'delta', { plugins: ['todos'] });
  const client = await eventually(() => connect(at('delta')), 5000, 100);
  await ok(client, 'Todos:create', { title: 'doomed' });

  let run = drop('delta', '--yes');
  assert.notEqual(run.status, 0, 'refused while the tenant is configured');
  assert.match(run.stderr, /still configured.*remove its folder first/);

  const disconnected = new Promise((resolve) => client.once('disconnect', resolve));
  await fsp.rm(path.join(halo.tenantsDir, 'delta'), { recursive: true });
  await within(disconnected, 5000, 'the client is disconnected');
  await eventually(async () => assert.ok(!('delta' in (await tenants()))), 5000, 100);

  run = drop('delta');
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /would delete .*--yes/);
  assert.ok(fs.existsSync(path.join(halo.dataDir, 'tenants', 'delta')));
  run = drop('delta', '--yes');
  assert.equal(run.status, 0, run.stderr);
  assert.ok(!fs.existsSync(path.join(halo.dataDir, 'tenants', 'delta')));

  await writeTenant(halo.tenantsDir, 'delta', { plugins: ['todos'] });
  const fresh = await eventually(() => connect(at('delta')), 5000, 100);
  assert.deepEqual(await ok(fresh, 'Todos:list'), [], 'a dropped tenant starts empty');
  fresh.disconnect();

  run = drop('../alpha', '--yes');
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /starts with a dot|slash/);
});

test('folders whose names cannot be tenants are ignored with a clear log line', async () => {
  for (const name of ['Upper', '-dash', 'a'.repeat(64), 'has space']) {
    await fsp.mkdir(path.join(halo.tenantsDir, name, 'plugins'), { recursive: true });
  }
  await eventually(() => {
    const log = halo.logs();
    assert.match(log, /tenant folder ignored.*contains 'U'|contains 'U'.*tenant folder ignored/);
    assert.match(log, /must start with a letter or a digit/);
    assert.match(log, /64 bytes long; at most 63/);
    assert.match(log, /contains ' '/);
  }, 5000, 100);
  const err = await attempt(`${halo.url}/Upper`);
  assert.match(err?.message ?? 'connected', /Invalid namespace/);
});

test('an edited tenant.toml is applied: clients are disconnected and reconnect under it', async () => {
  const client = await connect(at('bravo'));
  assert.equal((await tenants()).bravo.limits.connections, 10000, 'the default');
  const disconnected = new Promise((resolve) => client.once('disconnect', resolve));
  await fsp.writeFile(path.join(halo.tenantsDir, 'bravo', 'tenant.toml'), '[limits]\nconnections = 1\n');
  await within(disconnected, 5000, 'the client is disconnected');
  const first = await eventually(() => connect(at('bravo')), 5000, 100);
  assert.equal((await tenants()).bravo.limits.connections, 1);
  const second = await attempt(at('bravo'));
  assert.match(second?.message ?? 'connected', /limit_exceeded/);
  first.disconnect();

  // A broken file keeps the tenant from loading, with the reason in the log.
  await fsp.writeFile(path.join(halo.tenantsDir, 'bravo', 'tenant.toml'), '[limits]\nconections = 1\n');
  await eventually(async () => {
    const err = await attempt(at('bravo'));
    assert.match(err?.message ?? 'connected', /unavailable: tenant "bravo" cannot be served/);
  }, 5000, 100);
  await eventually(() => assert.match(halo.logs(), /tenant failed to load[\s\S]*conections/), 2000);
  await fsp.writeFile(path.join(halo.tenantsDir, 'bravo', 'tenant.toml'), '');
  await eventually(() => connect(at('bravo')), 5000, 100);
});

test('replacing the public key file reloads the tenant: tokens of the old key stop working', async () => {
  const [oldKey, newKey] = [keyPair('ed25519'), keyPair('ed25519')];
  const dir = await writeTenant(halo.tenantsDir, 'keyed', {
    plugins: ['todos'],
    toml: '[auth]\nalgorithm = "EdDSA"\naudience = "keyed"\npublic_key_file = "key.pem"\n',
  });
  await fsp.writeFile(path.join(dir, 'key.pem'), oldKey.publicPem);
  const token = (key) => ({ token: sign('EdDSA', key.privateKey, { aud: 'keyed', exp: now() + 600 }) });
  const client = await eventually(() => connect(at('keyed'), { auth: token(oldKey) }), 5000, 100);

  const disconnected = new Promise((resolve) => client.once('disconnect', resolve));
  await fsp.writeFile(path.join(dir, 'key.pem'), newKey.publicPem);
  await within(disconnected, 5000, 'clients of the old key are disconnected');
  client.disconnect();
  const refused = await attempt(at('keyed'), { auth: token(oldKey) });
  assert.match(refused?.message ?? 'connected', /unauthorized: the token's signature is invalid/);
  assert.equal(await attempt(at('keyed'), { auth: token(newKey) }), null);
});

test('a reload that widens a view is logged with what it added, and the manifest shows it', async () => {
  const client = await connect(at('shape'));
  let probe = (await tenants()).shape.views.find((v) => v.name === 'Probe');
  assert.deepEqual(probe.routes, ['list', 'peek', 'poke', 'read']);

  await copyPlugin('probe_wide', path.join(halo.tenantsDir, 'shape', 'plugins'), 'probe.wasm');
  await eventually(() => {
    assert.match(halo.logs(), /view widened its permissions on reload/);
  }, 5000, 50);
  const line = halo.logs().split('\n').find((l) => /view widened its permissions/.test(l));
  assert.match(line, /route create, route delete/);
  assert.match(line, /shape/);
  probe = (await tenants()).shape.views.find((v) => v.name === 'Probe');
  assert.deepEqual(probe.routes, ['create', 'delete', 'list', 'read']);
  // The client stayed connected and can use the new route.
  assert.ok((await ok(client, 'Probe:create', { x: 1 })).id);
});

test('without an admin token the admin endpoint does not exist', async () => {
  const bare = await startHalo({ plugins: ['todos'] });
  try {
    const res = await fetch(`${bare.url}/admin/tenants`, { headers: { authorization: 'Bearer anything' } });
    assert.equal(res.status, 404);
  } finally {
    await bare.stop();
  }
});
