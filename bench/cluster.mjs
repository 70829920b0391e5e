// Cluster mode against one node, in the same run: three halo nodes sharing a
// PostgreSQL store and a Redis feed, 1,000 subscribers of one model on each
// node, one writer on node 1; against one node (the same PostgreSQL store,
// no feed) serving all 3,000 subscribers alone. Measured: server CPU per
// delivered push (all nodes' CPU time, from /proc), delivery latency for
// subscribers on the writer's node and on the others, memory per subscribed
// connection, and every push accounted for (missed, duplicated, out of
// order). Every halo node is pinned to core 0, this load generator to core 1
// (taskset), as in run.mjs; clients are raw Engine.IO v4 sockets (eio.mjs).
//
//   node bench/cluster.mjs [--quick] [--legacy] [--only cluster]     (or: make bench-cluster)
//
// Each run makes its own PostgreSQL databases and a unique --cluster name on
// Redis, and drops them when it ends, however it ends; it stops by itself
// after a deadline. A full run writes bench/results/cluster.json and
// cluster.md; a `--quick` or `--only` run writes them to bench/results/quick/.
// With `--only` not naming `cluster`, it does nothing (as run.mjs, which
// leaves `cluster` to this script).
//
// `--legacy` is for halo builds without cluster mode (no --store/--feed):
// every node uses the embedded SQLite store and the "other nodes'"
// subscribers connect to node 1. It tests this script, not halo; its
// figures mean nothing and go to bench/results/quick/.
//
// Environment: HALO_BIN, HALO_BIN_COMMIT (the commit it was built from, when
// not this checkout's), HALO_WASM_DIR, BENCH_OUT (JSON results file;
// cluster.md goes next to it), BENCH_PG (default
// postgres://postgres@127.0.0.1:5432), BENCH_REDIS (default
// redis://127.0.0.1:6379).

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from './eio.mjs';
import { affinityOf, cpuOf, freePort, hasTaskset, machine, ok, percentiles, rssOf, sleep, versionOf } from './common.mjs';
import { clusterFigures, clusterMarkdown, nodesFor, PROJECTION, projectionInputs } from './cluster-report.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.resolve(
  REPO,
  process.env.HALO_BIN ||
    (process.env.CARGO_TARGET_DIR ? path.join(process.env.CARGO_TARGET_DIR, 'release/halo') : 'target/release/halo')
);
const WASM = path.resolve(REPO, process.env.HALO_WASM_DIR || 'plugins/target/wasm32-wasip2/release');
const args = process.argv.slice(2);
// `--only` as run.mjs takes it, so `make bench BENCH_ARGS=...` can pass the
// same arguments to both: this scenario is `cluster`.
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? (args[onlyAt + 1] || '').split(',') : null;
for (const [at, arg] of args.entries()) {
  if (!['--quick', '--legacy', '--only'].includes(arg) && !(onlyAt >= 0 && at === onlyAt + 1)) {
    throw new Error(`unknown argument ${arg}: node bench/cluster.mjs [--quick] [--legacy] [--only cluster,...]`);
  }
}
const QUICK = args.includes('--quick');
const LEGACY = args.includes('--legacy');
const OUT = path.resolve(
  REPO,
  process.env.BENCH_OUT || (QUICK || LEGACY || only ? 'bench/results/quick/cluster.json' : 'bench/results/cluster.json')
);
const PG = new URL(process.env.BENCH_PG || 'postgres://postgres@127.0.0.1:5432');
const REDIS = new URL(process.env.BENCH_REDIS || 'redis://127.0.0.1:6379');

/** Sizes; `--quick` shrinks them. Recorded in the results. */
const PARAMS = {
  nodes: 3,
  subscribers_per_node: QUICK ? 300 : 1000,
  warmup_updates: 20,
  /** Nothing sent, before the subscribers connect: what a node costs by itself. */
  idle_empty_seconds: QUICK ? 3 : 10,
  /** Nothing sent, every subscriber connected: what holding them adds (a full run covers one ping interval, 25 s by default). */
  idle_seconds: QUICK ? 5 : 25,
  /** Updates of a second model nobody subscribes to: the cost of a commit alone. */
  commit_updates: QUICK ? 300 : 3000,
  burst_updates: QUICK ? 100 : 500,
  burst_in_flight: 16,
  paced_updates: QUICK ? 30 : 150,
  paced_rate: 10,
  /** How long pushes may trail the last ack before the rest count as missed. */
  drain_ms: 20_000,
  /** How long to keep counting after the last expected push, for duplicates. */
  grace_ms: 1000,
  /** The commit phase: how long after the last ack the other nodes get to take the feed. */
  settle_ms: 1000,
  /** The whole run stops (and cleans up) after this many seconds. */
  deadline_s: QUICK ? 400 : 1200,
};
const SUBSCRIBERS = PARAMS.nodes * PARAMS.subscribers_per_node;
const VIEW = 'MyModels';
/** The views of run.mjs's fan-out scenario, served by every node. */
const HALO_VIEWS = ['my_models', 'echo', 'rendered_models'];

// --- pinning, as in run.mjs: servers on core 0, this process on core 1 ---

const SERVER_CPU = '0';
const LOAD_CPU = '1';
const canPin = hasTaskset && os.cpus().length >= 2;

function pinSelf() {
  if (!canPin || affinityOf(process.pid) === LOAD_CPU) return;
  spawnSync('taskset', ['-a', '-p', '-c', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
}

// --- cleanup: whatever happens, children stopped, databases and keys gone ---

const children = new Set();
/** Synchronous steps, last registered first: they also run from process.on('exit'). */
const cleanups = [];
let cleanedUp = false;

function cleanUp() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {}
  }
  while (cleanups.length) {
    const step = cleanups.pop();
    try {
      step();
    } catch (err) {
      console.error(`cleanup: ${err.message}`);
    }
  }
}

process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`cluster bench: ${signal}, cleaning up`);
    process.exit(130);
  });
}

// --- PostgreSQL and Redis, through their command-line clients ---

const pgArgs = ['-h', PG.hostname, '-p', PG.port || '5432', '-U', decodeURIComponent(PG.username || 'postgres')];
const pgEnv = { ...process.env, ...(PG.password ? { PGPASSWORD: decodeURIComponent(PG.password) } : {}) };

function psql(sql, db = 'postgres') {
  const out = spawnSync('psql', [...pgArgs, '-d', db, '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    encoding: 'utf8',
    env: pgEnv,
    timeout: 30_000,
  });
  if (out.status !== 0) throw new Error(`psql ${JSON.stringify(sql)}: ${out.error?.message || out.stderr.trim()}`);
  return out.stdout.trim();
}

function redis(...argv) {
  const out = spawnSync('redis-cli', ['-h', REDIS.hostname, '-p', REDIS.port || '6379', ...argv], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (out.status !== 0 || /^(ERR|NOAUTH|Could not connect)/m.test(out.stdout)) {
    throw new Error(`redis-cli ${argv.join(' ')}: ${out.error?.message || out.stderr.trim() || out.stdout.trim()}`);
  }
  return out.stdout;
}

/** `key:value` lines of a Redis INFO section. */
function redisInfo(section) {
  return Object.fromEntries(
    redis('INFO', section)
      .split(/\r?\n/)
      .filter((line) => line.includes(':') && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)])
  );
}

/** CPU seconds the Redis server used so far: all of it, not only this run's share. */
function redisCpu() {
  const cpu = redisInfo('cpu');
  return Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys);
}

/** Per backend pid, CPU seconds of the PostgreSQL backends serving database `db`. */
function pgCpu(db) {
  const pids = psql(`SELECT pid FROM pg_stat_activity WHERE datname = '${db}'`).split('\n').filter(Boolean);
  const out = new Map();
  for (const pid of pids) {
    try {
      out.set(pid, cpuOf(pid));
    } catch {}
  }
  return out;
}

/** CPU the backends of `after` used since `before` (a backend new since then counts whole). */
const pgDelta = (before, after) => [...after].reduce((sum, [pid, cpu]) => sum + cpu - (before.get(pid) ?? 0), 0);

/** Creates database `db`, dropped at exit. */
function createDatabase(db) {
  psql(`CREATE DATABASE "${db}"`);
  const drop = () => psql(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  cleanups.push(drop);
  return () => {
    const at = cleanups.indexOf(drop);
    if (at < 0) return;
    cleanups.splice(at, 1);
    try {
      drop();
    } catch (err) {
      console.error(`cleanup: ${err.message}`);
    }
  };
}

/** Deletes every Redis key of cluster `name`, now and at exit. */
function redisKeysOf(name) {
  const sweep = () => {
    const keys = redis('--scan', '--pattern', `${name}*`).split('\n').filter(Boolean);
    for (let i = 0; i < keys.length; i += 500) redis('DEL', ...keys.slice(i, i + 500));
    return keys.length;
  };
  cleanups.push(sweep);
  return sweep;
}

// --- halo nodes ---

/** The halo settings this process's environment would pass on: none of them. */
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('HALO_')));

/**
 * One `halo serve` pinned to the servers' core, from its own data folder (so
 * no halo.toml is picked up), serving a copy of the bench views. Resolves
 * once it logs `serving` and /readyz answers.
 */
async function startNode(name, extra, adminToken) {
  const port = await freePort();
  const data = await fsp.mkdtemp(path.join(os.tmpdir(), `halo-bench-cluster-${name}-`));
  cleanups.push(() => fs.rmSync(data, { recursive: true, force: true }));
  const plugins = path.join(data, 'plugins');
  await fsp.mkdir(plugins);
  for (const view of HALO_VIEWS) await fsp.copyFile(path.join(WASM, `${view}.wasm`), path.join(plugins, `${view}.wasm`));
  const argv = ['serve', '--port', String(port), '--plugins', plugins, '--data', path.join(data, 'data'), '--admin-token', adminToken, ...extra];
  const [cmd, cmdArgs] = canPin ? ['taskset', ['-c', SERVER_CPU, BIN, ...argv]] : [BIN, argv];
  const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'pipe'], cwd: data, env: childEnv });
  children.add(child);
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    if (log.length < 2_000_000) log += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`halo ${name} exited (${child.exitCode}):\n${log}`);
    if (Date.now() > deadline) throw new Error(`halo ${name} did not start:\n${log}`);
    if (/serving/.test(log)) {
      const ready = await fetch(`${url}/readyz`).catch(() => null);
      if (ready?.ok) break;
    }
    await sleep(50);
  }
  return {
    name,
    url,
    argv,
    // taskset execs halo, so this is halo's own pid.
    cpus: affinityOf(child.pid),
    cpu: () => cpuOf(child.pid),
    rss: () => rssOf(child.pid),
    alive: () => child.exitCode === null && child.signalCode === null,
    /** Warnings and errors halo logged, at most `max`. */
    complaints(max = 20) {
      return log
        .split('\n')
        .filter((line) => /\b(WARN|ERROR)\b/.test(line) && !/socket\.io-client bundle not found/.test(line))
        .slice(0, max);
    },
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(15_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      children.delete(child);
    },
  };
}

/** GET /admin/cluster on `node`: the cluster as it sees it, or null. */
async function adminCluster(node, token) {
  const res = await fetch(`${node.url}/admin/cluster`, { headers: { authorization: `Bearer ${token}` } }).catch(() => null);
  return res?.ok ? res.json() : null;
}

// --- sending ---

const sequential = async (update, n) => {
  for (let i = 0; i < n; i++) await update(i);
};

const burst = (inFlight) => async (update, n) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await update(next++);
    })
  );
};

const paced = (rate) => async (update, n) => {
  const start = performance.now();
  const pending = [];
  let failed = null;
  for (let i = 0; i < n && !failed; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(update(i).catch((err) => (failed ??= err)));
  }
  await Promise.all(pending);
  if (failed) throw failed;
};

const summary = (samples) => {
  const { p50, p99, n } = percentiles(samples);
  return { p50_ms: n ? p50 : null, p99_ms: n ? p99 : null, n };
};

// --- one setup: a writer on node 1, subscribers placed on the nodes ---

/**
 * Runs every phase on `nodes`, subscriber `s` connected to
 * `nodes[placement[s]]`. Each update carries its phase's tag, its number and
 * its send time; every subscriber must see every number of its phase once,
 * and all in the same order.
 */
async function measure(label, nodes, placement, { adminToken, clusterMode }) {
  const subs = placement.length;
  const out = { nodes: nodes.map((n) => ({ name: n.name, cpus: n.cpus, subscribers: placement.filter((p) => nodes[p] === n).length })) };
  // Other work on the machine competes with the nodes for core 0: recorded, not prevented.
  out.loadavg_start = os.loadavg();
  const writer = await connect(nodes[0].url);
  const model = ok(await writer.emit(`${VIEW}:create`, { someProperty: 'start' }), 'create').id;
  const quiet = ok(await writer.emit(`${VIEW}:create`, { someProperty: 'start' }), 'create').id;

  let current = null;
  let strays = 0;
  const record = (index, change) => {
    const now = performance.now();
    const run = current;
    const [tag, seq, sent] = String(change.someProperty).split(':');
    if (!run || tag !== run.tag) {
      strays++;
      return;
    }
    const i = Number(seq);
    const k = index * run.count + i;
    run.deliveries++;
    if (run.seen[k] === 0) {
      run.complete++;
      run.order[index * run.count + run.pos[index]++] = i;
      const latency = now - Number(sent);
      run.samples[placement[index]].push(latency);
      const at = placement[index] * run.count + i;
      if (latency < run.first[at]) run.first[at] = latency;
      if (latency > run.lastOf[at]) run.lastOf[at] = latency;
      run.last = now;
    }
    if (run.seen[k] < 255) run.seen[k]++;
  };

  await sleep(500);
  const idleShare = async (seconds) => {
    const cpu0 = nodes.map((n) => n.cpu());
    const start = performance.now();
    await sleep(seconds * 1000);
    const elapsed = (performance.now() - start) / 1000;
    return { seconds: elapsed, node_cpu_share: nodes.map((n, i) => (n.cpu() - cpu0[i]) / elapsed) };
  };
  out.idle_empty = await idleShare(PARAMS.idle_empty_seconds);
  const rss0 = nodes.map((n) => n.rss());
  const sockets = [];
  const t0 = performance.now();
  for (let s = 0; s < subs; s += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, subs - s) }, async (_, k) => {
        const index = s + k;
        const socket = await connect(nodes[placement[index]].url);
        socket.on(`${VIEW}/${model}:serverchange`, (change) => record(index, change));
        const read = ok(await socket.emit(`${VIEW}:read`, { id: model }), 'read');
        if (read.id !== model) throw new Error(`subscriber ${index} read ${JSON.stringify(read)}`);
        return socket;
      })
    );
    sockets.push(...batch);
  }
  out.subscribe_seconds = (performance.now() - t0) / 1000;
  await sleep(1500);
  const rss1 = nodes.map((n) => n.rss());
  out.memory = nodes.map((n, i) => ({
    rss_before: rss0[i],
    rss_after: rss1[i],
    bytes_per_subscriber: (rss1[i] - rss0[i]) / Math.max(1, out.nodes[i].subscribers),
  }));
  const withSubs = out.memory.filter((_, i) => out.nodes[i].subscribers > 0);
  out.bytes_per_subscriber = withSubs.reduce((sum, m) => sum + m.bytes_per_subscriber, 0) / withSubs.length;

  if (clusterMode) {
    // Nodes report their counts about once a second: wait for the total.
    const deadline = Date.now() + 5000;
    let seen = null;
    while (Date.now() < deadline) {
      seen = await adminCluster(nodes[0], adminToken);
      if (seen?.connections === subs + 1) break;
      await sleep(250);
    }
    out.admin_cluster = seen;
  }

  const dbName = nodes[0].db;
  const phase = async (name, id, count, send) => {
    const subscribed = id === model;
    const r = {
      tag: `${label}.${name}`,
      count,
      seen: new Uint8Array(subscribed ? subs * count : 0),
      order: new Uint16Array(subscribed ? subs * count : 0),
      pos: new Uint32Array(subs),
      // Per node and update: when its first and its last subscriber had it.
      first: new Float64Array(subscribed ? nodes.length * count : 0).fill(Infinity),
      lastOf: new Float64Array(subscribed ? nodes.length * count : 0).fill(-Infinity),
      samples: nodes.map(() => []),
      complete: 0,
      deliveries: 0,
      last: 0,
    };
    const expected = subscribed ? subs * count : 0;
    const acks = [];
    const update = (i) => {
      const sent = performance.now();
      return writer.emit(`${VIEW}:update`, { id, someProperty: `${r.tag}:${i}:${sent}` }).then((res) => {
        acks.push(performance.now() - sent);
        return ok(res, 'update');
      });
    };
    current = r;
    const strays0 = strays;
    const pg0 = dbName ? pgCpu(dbName) : null;
    const redis0 = clusterMode ? redisCpu() : null;
    const load0 = process.cpuUsage();
    const cpu0 = nodes.map((n) => n.cpu());
    const start = performance.now();
    let refused = null;
    try {
      await send(update, count);
    } catch (err) {
      refused = err.message;
    }
    const acked = performance.now();
    if (subscribed) {
      const deadline = acked + PARAMS.drain_ms;
      while (r.complete < expected && performance.now() < deadline) await sleep(2);
    } else {
      await sleep(PARAMS.settle_ms);
    }
    const end = performance.now();
    const cpu = nodes.map((n, i) => n.cpu() - cpu0[i]);
    const load = process.cpuUsage(load0);
    const redisUsed = clusterMode ? redisCpu() - redis0 : null;
    const pgUsed = dbName ? pgDelta(pg0, pgCpu(dbName)) : null;
    await sleep(PARAMS.grace_ms);
    current = null;

    let missed = 0;
    let duplicated = 0;
    for (const times of r.seen) {
      if (times === 0) missed++;
      else duplicated += times - 1;
    }
    // Every subscriber that saw every update saw them in one order: the
    // first such subscriber's. Which nodes' subscribers differ, if any.
    let reference = -1;
    const orderDiffers = nodes.map(() => 0);
    for (let s = 0; subscribed && s < subs; s++) {
      if (r.pos[s] !== count) continue;
      if (reference < 0) {
        reference = s;
        continue;
      }
      for (let i = 0; i < count; i++) {
        if (r.order[s * count + i] !== r.order[reference * count + i]) {
          orderDiffers[placement[s]]++;
          break;
        }
      }
    }
    let inOrder = reference >= 0;
    for (let i = 0; inOrder && i < count; i++) inOrder = r.order[reference * count + i] === i;

    const seconds = (Math.max(r.last, acked) - start) / 1000;
    const cpuSum = cpu.reduce((a, b) => a + b, 0);
    const same = r.samples[0];
    const other = r.samples.slice(1).flat();
    // Per update and node, the first push (the commit reaching the node) and
    // the last (the node done with its subscribers), from the writer's send.
    const perNode = (values, k) => Array.from(values.subarray(k * count, (k + 1) * count)).filter(Number.isFinite);
    const firstPush = (from, to) => nodes.slice(from, to).flatMap((_, j) => perNode(r.first, from + j));
    const lastPush = (from, to) => nodes.slice(from, to).flatMap((_, j) => perNode(r.lastOf, from + j));
    const result = {
      updates: count,
      expected_pushes: expected,
      pushes: r.complete,
      deliveries: r.deliveries,
      missed,
      duplicated,
      order_differs: orderDiffers.reduce((a, b) => a + b, 0),
      order_differs_by_node: orderDiffers,
      order_is_send_order: subscribed ? inOrder : null,
      strays: strays - strays0,
      refused,
      seconds,
      ack_seconds: (acked - start) / 1000,
      cpu_window_seconds: (end - start) / 1000,
      deliveries_per_s: subscribed ? r.complete / seconds : null,
      node_cpu_s: cpu,
      cpu_s: cpuSum,
      cpu_per_push_us: subscribed && r.complete ? (cpuSum / r.complete) * 1e6 : null,
      cpu_per_commit_us: cpu.map((c) => (c / count) * 1e6),
      load_cpu: (load.user + load.system) / 1e6 / ((end - start) / 1000),
      postgres_cpu_s: pgUsed,
      redis_cpu_s: redisUsed,
      /** The writer's send to its ack. */
      ack: summary(acks),
      latency: {
        all: summary(r.samples.flat()),
        same_node: summary(same),
        other_nodes: other.length ? summary(other) : null,
        by_node: r.samples.map(summary),
        first_push: {
          same_node: summary(firstPush(0, 1)),
          other_nodes: nodes.length > 1 ? summary(firstPush(1, nodes.length)) : null,
        },
        last_push: {
          same_node: summary(lastPush(0, 1)),
          other_nodes: nodes.length > 1 ? summary(lastPush(1, nodes.length)) : null,
        },
      },
    };
    const lat = result.latency;
    process.stderr.write(
      `  ${label} ${name}: ${fmtNum(r.complete)}/${fmtNum(expected)} pushes, ${missed} missed, ${duplicated} duplicated, ` +
        `CPU ${fmtNum(cpuSum, 2)} s (${result.cpu_per_push_us === null ? '–' : `${fmtNum(result.cpu_per_push_us, 2)} µs/push`}), ` +
        `p50/p99 same node ${fmtNum(lat.same_node.p50_ms, 2)}/${fmtNum(lat.same_node.p99_ms, 2)} ms` +
        (lat.other_nodes ? `, other nodes ${fmtNum(lat.other_nodes.p50_ms, 2)}/${fmtNum(lat.other_nodes.p99_ms, 2)} ms` : '') +
        `, ack ${fmtNum(result.ack.p50_ms, 2)}/${fmtNum(result.ack.p99_ms, 2)} ms` +
        (lat.first_push.other_nodes?.n
          ? `, first push same ${fmtNum(lat.first_push.same_node.p50_ms, 2)}/${fmtNum(lat.first_push.same_node.p99_ms, 2)} other ${fmtNum(lat.first_push.other_nodes.p50_ms, 2)}/${fmtNum(lat.first_push.other_nodes.p99_ms, 2)} ms`
          : '') +
        `${refused ? `, refused: ${refused}` : ''}\n`
    );
    await sleep(300);
    return result;
  };

  const phases = {};
  try {
    phases.warmup = await phase('warmup', model, PARAMS.warmup_updates, sequential);
    // Idle: what holding the connections costs each node.
    await sleep(500);
    out.idle = await idleShare(PARAMS.idle_seconds);
    phases.commit = await phase('commit', quiet, PARAMS.commit_updates, burst(PARAMS.burst_in_flight));
    phases.burst = await phase('burst', model, PARAMS.burst_updates, burst(PARAMS.burst_in_flight));
    phases.paced = await phase('paced', model, PARAMS.paced_updates, paced(PARAMS.paced_rate));
    await sleep(1000);
    out.strays_after = strays;
    out.closed_subscribers = sockets.filter((socket) => socket.closed).length;
    out.writer_closed = writer.closed;
  } finally {
    for (const socket of [writer, ...sockets]) socket.close();
  }
  out.phases = phases;
  out.loadavg_end = os.loadavg();
  out.nodes_alive = nodes.map((n) => n.alive());
  out.complaints = Object.fromEntries(nodes.map((n) => [n.name, n.complaints()]));
  return out;
}

function fmtNum(v, digits = 0) {
  return v === null || v === undefined ? '–' : v.toFixed(digits);
}

// --- the run ---

async function reference(run) {
  const db = `${run.base}_ref`;
  const dropDb = createDatabase(db);
  const store = `postgres://${PG.username || 'postgres'}${PG.password ? `:${PG.password}` : ''}@${PG.host}/${db}`;
  const node = await startNode('ref', LEGACY ? [] : ['--store', store], run.adminToken);
  node.db = LEGACY ? null : db;
  try {
    process.stderr.write(`reference: one node, ${SUBSCRIBERS} subscribers\n`);
    const out = await measure('ref', [node], Array(SUBSCRIBERS).fill(0), { adminToken: run.adminToken, clusterMode: false });
    out.argv = node.argv;
    return out;
  } finally {
    await node.stop();
    dropDb();
  }
}

async function cluster(run) {
  const db = `${run.base}_cluster`;
  const dropDb = createDatabase(db);
  const name = `${run.base.replaceAll('_', '-')}`;
  const sweepKeys = redisKeysOf(name);
  const store = `postgres://${PG.username || 'postgres'}${PG.password ? `:${PG.password}` : ''}@${PG.host}/${db}`;
  const feed = `redis://${REDIS.host}`;
  const nodes = [];
  try {
    for (let k = 1; k <= PARAMS.nodes; k++) {
      const extra = LEGACY ? [] : ['--store', store, '--feed', feed, '--cluster', name, '--node', `n${k}`];
      const node = await startNode(`n${k}`, extra, run.adminToken);
      node.db = LEGACY ? null : db;
      nodes.push(node);
    }
    const out = { cluster: name };
    if (!LEGACY) {
      // Every node must see the others before the run starts.
      const deadline = Date.now() + 30_000;
      let seen = [];
      for (;;) {
        seen = await Promise.all(nodes.map((n) => adminCluster(n, run.adminToken)));
        if (seen.every((view) => view?.nodes?.length === PARAMS.nodes)) break;
        if (Date.now() > deadline) throw new Error(`the cluster did not form within 30 s: ${JSON.stringify(seen)}`);
        await sleep(250);
      }
      out.formed = seen[0];
    }
    // Legacy: halo without cluster mode, every subscriber on node 1.
    const targets = LEGACY ? nodes.map(() => nodes[0]) : nodes;
    const placement = Array.from({ length: SUBSCRIBERS }, (_, s) => Math.floor(s / PARAMS.subscribers_per_node));
    process.stderr.write(`cluster: ${PARAMS.nodes} nodes, ${PARAMS.subscribers_per_node} subscribers each, writer on n1\n`);
    // measure() places subscriber s on targets[placement[s]] and charges the CPU of every started node.
    Object.assign(out, await measure('cluster', withTargets(nodes, targets), placement, { adminToken: run.adminToken, clusterMode: !LEGACY }));
    out.argv = nodes.map((n) => n.argv);
    return out;
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    dropDb();
    if (!LEGACY) {
      try {
        run.redis_keys_removed = sweepKeys();
      } catch (err) {
        console.error(`cleanup: ${err.message}`);
      }
    }
  }
}

/** `nodes` whose subscribers connect to `targets` instead (legacy mode only). */
function withTargets(nodes, targets) {
  return nodes.map((n, i) => (targets[i] === n ? n : { ...n, url: targets[i].url }));
}

function versions() {
  const commit = versionOf('git', ['-C', REPO, 'rev-parse', '--short=12', 'HEAD']);
  const dirty = versionOf('git', ['-C', REPO, 'status', '--porcelain', '--', '.', ':!bench/results']);
  let postgres = null;
  let redisVersion = null;
  try {
    postgres = psql('SHOW server_version');
  } catch {}
  try {
    redisVersion = redisInfo('server').redis_version;
  } catch {}
  return {
    halo: versionOf(BIN, ['--version']),
    halo_bin: BIN,
    // The binary may come from another checkout than this script's: say so with HALO_BIN_COMMIT.
    halo_bin_commit: process.env.HALO_BIN_COMMIT || null,
    halo_commit: commit && (dirty ? `${commit}+dirty` : commit),
    node: process.version,
    postgres,
    redis: redisVersion,
  };
}

/** Refuses early what would fail later: binary, views, databases, open files. */
function preflight() {
  if (!fs.existsSync(BIN)) throw new Error(`no halo binary at ${BIN}: build it or set HALO_BIN`);
  for (const view of HALO_VIEWS) {
    if (!fs.existsSync(path.join(WASM, `${view}.wasm`))) {
      throw new Error(`no ${view}.wasm in ${WASM}: build the plugins (make plugins) or set HALO_WASM_DIR`);
    }
  }
  const help = spawnSync(BIN, ['serve', '--help'], { encoding: 'utf8' }).stdout || '';
  if (!LEGACY && !/--feed\b/.test(help)) {
    throw new Error(`${BIN} has no cluster mode (no --feed in \`halo serve --help\`): set HALO_BIN to a cluster build, or pass --legacy to test this script`);
  }
  psql('SELECT 1');
  redis('PING');
  const limits = fs.readFileSync('/proc/self/limits', 'utf8');
  const open = Number(/^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1]);
  if (Number.isFinite(open) && open < SUBSCRIBERS + 500) {
    throw new Error(`open files limited to ${open}: ${SUBSCRIBERS} subscribers need more (ulimit -n ${SUBSCRIBERS * 2})`);
  }
  return open;
}

async function main() {
  if (only && !only.includes('cluster')) {
    console.error('cluster bench: not in --only, skipped');
    return;
  }
  const openFiles = preflight();
  pinSelf();
  const deadline = setTimeout(() => {
    console.error(`cluster bench: still running after ${PARAMS.deadline_s} s, giving up`);
    process.exit(2);
  }, PARAMS.deadline_s * 1000);
  const run = {
    base: `halo_bench_${process.pid}_${crypto.randomBytes(4).toString('hex')}`,
    adminToken: crypto.randomBytes(16).toString('hex'),
  };
  const results = {
    schema: 1,
    date: new Date().toISOString(),
    quick: QUICK,
    legacy: LEGACY,
    machine: machine(),
    versions: versions(),
    pinning: { applied: false, server_cpus: null, load_generator_cpus: affinityOf(process.pid) },
    open_files: openFiles,
    params: PARAMS,
    setup: {
      cluster: LEGACY
        ? `${PARAMS.nodes} nodes on embedded SQLite, every subscriber on node 1 (legacy: tests the script only)`
        : `${PARAMS.nodes} nodes, --store postgres, --feed redis, ${PARAMS.subscribers_per_node} subscribers on each, writer on node 1`,
      reference: LEGACY
        ? 'one node, embedded SQLite'
        : `one node, --store postgres (its own database), no --feed, all ${SUBSCRIBERS} subscribers and the writer`,
    },
    reference: null,
    cluster: null,
  };
  results.reference = await reference(run);
  results.cluster = await cluster(run);
  results.redis_keys_removed = run.redis_keys_removed ?? null;
  const cpus = [...results.reference.nodes, ...results.cluster.nodes].map((n) => n.cpus);
  results.pinning.server_cpus = [...new Set(cpus)].join(' ');
  results.pinning.applied = canPin && results.pinning.load_generator_cpus === LOAD_CPU && cpus.every((c) => c === SERVER_CPU);
  clearTimeout(deadline);
  results.figures = clusterFigures(results);
  const inputs = projectionInputs(results);
  results.projection = { inputs, params: PROJECTION, rows: PROJECTION.workloads.map((workload) => nodesFor(inputs, workload)) };

  await fsp.mkdir(path.dirname(OUT), { recursive: true });
  await fsp.writeFile(OUT, `${JSON.stringify(results, null, 2)}\n`);
  const table = clusterMarkdown(results);
  const md = path.join(path.dirname(OUT), 'cluster.md');
  await fsp.writeFile(md, table);
  console.log(table);
  console.log(`written: ${path.relative(process.cwd(), OUT)}\nwritten: ${path.relative(process.cwd(), md)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  }
);
