// Settings come from halo.toml, HALO_* variables and flags, in that order of
// strength; an unknown key or a bad value stops start-up, naming it.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startHalo, REPO, haloBin, tempDir } from './harness.mjs';

const servers = [];
after(async () => {
  for (const server of servers) await server.stop();
});

/** The default tenant's limits, as the admin endpoint lists them. */
async function limits(server, token) {
  const res = await fetch(`${server.url}/admin/tenants`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, 'admin endpoint answers with the token from the settings');
  const { tenants } = await res.json();
  return tenants.find((tenant) => tenant.name === '').limits;
}

/** Runs `halo serve` expecting it to refuse to start; returns its stderr. */
function refusedStart(args, { cwd = tempDir('halo-config-'), env = {} } = {}) {
  const run = spawnSync(haloBin(), ['serve', '--port', '0', ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(run.error, undefined, `halo ran: ${run.error}`);
  assert.notEqual(run.status, 0, `halo refused to start\n${run.stderr}`);
  assert.equal(run.status, 2, `exit status 2 for a settings error\n${run.stderr}`);
  return run.stderr;
}

test('a flag beats a HALO_* variable, which beats halo.toml, which beats the default', async () => {
  const cwd = tempDir('halo-config-');
  fs.writeFileSync(
    path.join(cwd, 'halo.toml'),
    [
      'admin_token = "from-the-file"',
      'plugin_memory_mib = 40',
      'connections = 111',
      'requests_per_second = 222',
      'stored_bytes = 333333',
      '',
    ].join('\n'),
  );
  const server = await startHalo({
    plugins: ['my_models'],
    cwd,
    env: { HALO_CONNECTIONS: '444', HALO_REQUESTS_PER_SECOND: '555' },
    args: ['--requests-per-second', '666'],
  });
  servers.push(server);
  const seen = await limits(server, 'from-the-file');
  assert.equal(seen.memory_mib, 40, 'file over default');
  assert.equal(seen.stored_bytes, 333333, 'file over default');
  assert.equal(seen.connections, 444, 'variable over file');
  assert.equal(seen.requests_per_second, 666, 'flag over variable and file');
  assert.equal(seen.instances, 16, 'default when nothing sets it');
});

test('--config names a settings file anywhere; without it ./halo.toml is optional', async () => {
  const dir = tempDir('halo-config-');
  const file = path.join(dir, 'elsewhere.toml');
  fs.writeFileSync(file, 'admin_token = "elsewhere"\nplugin_instances = 3\n');
  const server = await startHalo({ plugins: ['my_models'], cwd: tempDir('halo-config-'), args: ['--config', file] });
  servers.push(server);
  assert.equal((await limits(server, 'elsewhere')).instances, 3);
  const missing = refusedStart(['--config', path.join(dir, 'missing.toml')]);
  assert.match(missing, /reading .*missing\.toml/);
});

test('an unknown key stops start-up, naming the key and a near miss', () => {
  const cwd = tempDir('halo-config-');
  fs.writeFileSync(path.join(cwd, 'halo.toml'), 'plugin_memroy_mib = 64\n');
  const stderr = refusedStart([], { cwd });
  assert.match(stderr, /halo\.toml: unknown key `plugin_memroy_mib` \(did you mean `plugin_memory_mib`\?\)/);
});

test('a bad value stops start-up, naming the key, variable or flag', () => {
  const cwd = tempDir('halo-config-');
  fs.writeFileSync(path.join(cwd, 'halo.toml'), 'plugin_deadline_ms = "soon"\n');
  assert.match(refusedStart([], { cwd }), /halo\.toml: bad value for `plugin_deadline_ms`: invalid value 'soon'/);

  fs.writeFileSync(path.join(cwd, 'halo.toml'), 'log_format = "xml"\n');
  assert.match(refusedStart([], { cwd }), /bad value for `log_format`: invalid value 'xml'.*\[possible values: text, json\]/);

  fs.writeFileSync(path.join(cwd, 'halo.toml'), 'cors_origins = ["https://ok.example", "not an origin"]\n');
  assert.match(refusedStart([], { cwd }), /bad value for `cors_origins`: invalid value 'not an origin'/);

  fs.writeFileSync(path.join(cwd, 'halo.toml'), 'port = 3000\n[limits]\nx = 1\n');
  assert.match(refusedStart([], { cwd }), /unknown key `limits`/);

  fs.writeFileSync(path.join(cwd, 'halo.toml'), 'port = \n');
  assert.match(refusedStart([], { cwd }), /halo\.toml is not valid TOML/);

  assert.match(
    refusedStart([], { env: { HALO_PLUGIN_INSTANCES: 'lots' } }),
    /environment variable HALO_PLUGIN_INSTANCES: invalid value 'lots'/,
  );
  assert.match(refusedStart(['--log-level', 'info,[bad']), /invalid value 'info,\[bad' for '--log-level/);
});

test('halo serve --help documents every setting with its variable and default', () => {
  const help = spawnSync(haloBin(), ['serve', '--help'], { cwd: REPO, encoding: 'utf8' }).stdout;
  for (const [flag, env, fallback] of [
    ['--port', 'HALO_PORT', '3000'],
    ['--data', 'HALO_DATA', './data'],
    ['--log-level', 'HALO_LOG_LEVEL', 'info'],
    ['--log-format', 'HALO_LOG_FORMAT', 'text'],
    ['--cors-origin', 'HALO_CORS_ORIGINS', null],
    ['--shutdown-grace-secs', 'HALO_SHUTDOWN_GRACE_SECS', '10'],
    ['--plugin-memory-mib', 'HALO_PLUGIN_MEMORY_MIB', '32'],
  ]) {
    const at = help.indexOf(`${flag} `);
    assert.ok(at >= 0, `${flag} is in --help`);
    const entry = help.slice(at, help.indexOf('\n      --', at + 1));
    assert.ok(entry.includes(`[env: ${env}=`), `${flag} names ${env}`);
    if (fallback) assert.ok(entry.includes(`[default: ${fallback}]`), `${flag} shows its default ${fallback}`);
  }
});

test('a value from halo.toml may start with a dash', async () => {
  const cwd = tempDir('halo-config-');
  fs.writeFileSync(path.join(cwd, 'halo.toml'), 'admin_token = "-starts-with-a-dash"\n');
  const server = await startHalo({ plugins: ['my_models'], cwd });
  servers.push(server);
  assert.equal((await limits(server, '-starts-with-a-dash')).instances, 16);
});

test('halo tenant drop looks for the data and tenants folders halo.toml names', () => {
  const cwd = tempDir('halo-config-');
  fs.mkdirSync(path.join(cwd, 'kept/tenants/acme'), { recursive: true });
  fs.mkdirSync(path.join(cwd, 'live/acme'), { recursive: true });
  fs.writeFileSync(path.join(cwd, 'halo.toml'), 'data = "kept"\ntenants = "live"\nport = 4000\n');
  const run = (args) =>
    spawnSync(haloBin(), ['tenant', 'drop', 'acme', ...args], { cwd, encoding: 'utf8', timeout: 20_000 });
  const still = run(['--yes']);
  assert.equal(still.status, 1, still.stderr);
  assert.match(still.stderr, /tenant acme is still configured \(live\/acme exists\)/);
  fs.rmSync(path.join(cwd, 'live/acme'), { recursive: true });
  const dry = run([]);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /would delete kept\/tenants\/acme/);
  assert.ok(fs.existsSync(path.join(cwd, 'kept/tenants/acme')));
});
