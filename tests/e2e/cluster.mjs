// Several halo nodes sharing one PostgreSQL store and one Redis feed, and
// nginx in front of them with the configuration the docs give
// (docs/nginx/halo.conf), for the scale-out tests next to this file.
//
// Each cluster gets a database and a Redis `--cluster` name of its own, both
// removed when the test process exits, however it exits.
//
// Environment (besides harness.mjs's):
//   HALO_TEST_POSTGRES  the PostgreSQL server (default postgres://postgres@127.0.0.1:5432)
//   HALO_TEST_REDIS     the Redis server (default redis://127.0.0.1:6379)

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { REPO, freePort, startHalo, tempDir, sleep } from './harness.mjs';

export const PG = new URL(process.env.HALO_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432');
export const REDIS = new URL(process.env.HALO_TEST_REDIS || 'redis://127.0.0.1:6379');

const cleanups = [];
process.on('exit', () => {
  while (cleanups.length) {
    try {
      cleanups.pop()();
    } catch (err) {
      process.stderr.write(`cluster cleanup: ${err.message}\n`);
    }
  }
});

function psql(sql) {
  const out = spawnSync(
    'psql',
    ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', PG.hostname, '-p', PG.port || '5432', '-U', decodeURIComponent(PG.username || 'postgres'), '-d', 'postgres', '-c', sql],
    { encoding: 'utf8', timeout: 30_000 }
  );
  if (out.status !== 0) {
    throw new Error(
      `psql ${JSON.stringify(sql)} failed: ${out.error?.message || out.stderr.trim()} ` +
        `(the cluster tests need PostgreSQL at ${PG.host}; set HALO_TEST_POSTGRES)`
    );
  }
  return out.stdout.trim();
}

/** Runs redis-cli against `url` and returns what it printed. */
export function redisCli(url, ...argv) {
  const out = spawnSync('redis-cli', ['-h', url.hostname, '-p', url.port || '6379', ...argv], { encoding: 'utf8', timeout: 30_000 });
  if (out.status !== 0 || /^(ERR|Could not connect)/m.test(out.stdout)) {
    throw new Error(`redis-cli ${argv.join(' ')} failed: ${out.error?.message || out.stderr.trim() || out.stdout.trim()}`);
  }
  return out.stdout;
}

/**
 * A Redis server of the test's own on a free port, keeping nothing on disk:
 * one a test may stop and start again without disturbing anyone else.
 */
export async function privateRedis() {
  const port = await freePort();
  let child = null;
  const url = new URL(`redis://127.0.0.1:${port}`);
  async function start() {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    const me = child;
    cleanups.push(() => me.kill('SIGKILL'));
    for (let i = 0; i < 200; i++) {
      if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG') return;
      await sleep(25);
    }
    throw new Error(`redis-server on ${port} did not answer`);
  }
  async function stop() {
    if (!child) return;
    const me = child;
    child = null;
    const exited = new Promise((resolve) => me.once('exit', resolve));
    me.kill('SIGKILL');
    await exited;
  }
  await start();
  return { url, start, stop };
}

/**
 * Starts `nodes` halo nodes of one new cluster: a new PostgreSQL database as
 * their store, `redis` (default HALO_TEST_REDIS) as their feed under a
 * cluster name of their own. `options` go to each node's startHalo
 * (`plugins`, `tenants`, `args`). Resolves to `{nodes, store, feed, name}`.
 */
export async function startCluster(count, { redis = REDIS, ...options } = {}) {
  const name = `halo_e2e_${crypto.randomBytes(5).toString('hex')}`;
  psql(`CREATE DATABASE "${name}"`);
  cleanups.push(() => psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  cleanups.push(() => {
    try {
      const keys = redisCli(REDIS, '--scan', '--pattern', `${name}:*`).split('\n').filter(Boolean);
      if (keys.length) redisCli(REDIS, 'DEL', ...keys);
    } catch {
      // Node keys expire by themselves within seconds.
    }
  });
  const store = new URL(PG);
  store.pathname = `/${name}`;
  const feed = redis.href;
  const nodes = [];
  for (let i = 1; i <= count; i++) {
    nodes.push(
      await startHalo({
        ...options,
        args: ['--store', store.href, '--feed', feed, '--cluster', name, '--node', `node${i}`, ...(options.args || [])],
      })
    );
  }
  return { nodes, store: store.href, feed, name };
}

/**
 * nginx in front of `nodes`, with docs/nginx/halo.conf: its upstream servers
 * and listening port swapped for these. Resolves to `{url, stop()}`.
 */
export async function startNginx(nodes) {
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((file) => fs.existsSync(file));
  if (!nginx) throw new Error("nginx is not installed (Debian's nginx-light; .ci/run installs it)");
  const port = await freePort();
  const conf = await fsp.readFile(path.join(REPO, 'docs/nginx/halo.conf'), 'utf8');
  const servers = nodes.map((node) => `    server 127.0.0.1:${node.port} max_fails=1 fail_timeout=10s;`).join('\n');
  const site = conf
    .replace(/^ *server 127\.0\.0\.1:\d+[^\n]*\n/gm, '')
    .replace(/(upstream halo \{\n)/, `$1${servers}\n`)
    .replace(/listen 8080;/, `listen 127.0.0.1:${port};`);
  if (!site.includes(`127.0.0.1:${nodes[0].port}`) || !site.includes(`127.0.0.1:${port}`)) {
    throw new Error('docs/nginx/halo.conf no longer has the `upstream halo` block or `listen 8080;` this test rewrites');
  }
  const prefix = await tempDir('halo-nginx-');
  for (const dir of ['logs', 'tmp']) await fsp.mkdir(path.join(prefix, dir));
  const main = `daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
${site}
}
`;
  const file = path.join(prefix, 'nginx.conf');
  await fsp.writeFile(file, main);
  const child = spawn(nginx, ['-p', prefix, '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (log += chunk));
  cleanups.push(() => child.kill('SIGKILL'));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${log}`);
    const res = await fetch(`${url}/readyz`).catch(() => null);
    if (res?.ok) break;
    if (i > 400) throw new Error(`nginx on ${port} did not answer: ${log}`);
    await sleep(25);
  }
  return {
    url,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGQUIT');
      await exited;
    },
  };
}
