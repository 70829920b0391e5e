// halo against a Node socket.io server doing the same job, and against the
// same job on socketioxide alone (bench/bare), side by side in one run. Each
// server runs alone, pinned to core 0; this load generator runs on core 1
// (`make bench` starts it there, and it moves itself there when started
// otherwise). Clients speak Engine.IO v4 / Socket.IO v5 over
// websockets directly (eio.mjs), on loopback only, and every scenario is
// bounded in time and stops by itself.
//
//   node bench/run.mjs [--only rtt,throughput,fanout,sweep,conns,instructions,plugin,render,idle] [--quick]
//
// `idle` (memory per connection after 14 minutes idle, every side at once)
// runs only when named.
//
// (`--only cluster` runs nothing here: that scenario is bench/cluster.mjs,
// which `make bench` runs next with the same arguments.)
//
// A full run writes bench/results/run.json, table.md and latency.png; a
// `--quick` or `--only` run writes them to bench/results/quick/ instead, so
// the published results only ever come from a full run.
//
// Environment: HALO_BIN, BARE_BIN, HALO_WASM_DIR, BENCH_OUT (the JSON results file;
// table.md and latency.png go next to it), CHROMIUM (for the plot).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from './eio.mjs';
import { affinityOf, cpuOf, cpuTimeOf, freePort, hasTaskset, machine, ok, percentiles, rssOf, sleep, versionOf } from './common.mjs';
import { MAIN_FIGURES, markdown } from './report.mjs';
import { plot } from './plot.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.resolve(
  REPO,
  process.env.HALO_BIN ||
    (process.env.CARGO_TARGET_DIR ? path.join(process.env.CARGO_TARGET_DIR, 'release/halo') : 'target/release/halo')
);
// The floor: the same job on socketioxide alone (bench/bare).
const BARE = path.resolve(
  REPO,
  process.env.BARE_BIN ||
    (process.env.CARGO_TARGET_DIR
      ? path.join(process.env.CARGO_TARGET_DIR, 'release/bare-socketioxide')
      : 'target/release/bare-socketioxide')
);
const WASM = path.resolve(REPO, process.env.HALO_WASM_DIR || 'plugins/target/wasm32-wasip2/release');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;
const OUT = path.resolve(
  REPO,
  process.env.BENCH_OUT || (QUICK || only ? 'bench/results/quick/run.json' : 'bench/results/run.json')
);
const ALL = ['rtt', 'throughput', 'fanout', 'sweep', 'conns', 'instructions', 'plugin', 'render', 'idle'];
/** Scenarios that run only when named: they take a quarter of an hour. */
const NAMED_ONLY = ['idle'];
// Scenarios of the other scripts `make bench` runs with the same arguments.
const ELSEWHERE = { cluster: 'bench/cluster.mjs' };
for (const name of only || []) {
  if (!ALL.includes(name) && !ELSEWHERE[name]) {
    throw new Error(`unknown scenario ${name}: one of ${[...ALL, ...Object.keys(ELSEWHERE)].join(', ')}`);
  }
}
const wanted = (name) => (only ? only.includes(name) : !NAMED_ONLY.includes(name));

/** Sizes of every scenario; `--quick` shrinks them. Recorded in the results. */
const PARAMS = {
  rtt: { warmup: 200, updates: QUICK ? 500 : 3000 },
  throughput: { clients: 50, in_flight: 4, seconds: QUICK ? 3 : 10 },
  fanout: {
    subscribers: QUICK ? 200 : 1000,
    sequential_updates: QUICK ? 50 : 200,
    burst_updates: QUICK ? 200 : 1000,
    burst_in_flight: 16,
    paced_updates: QUICK ? 20 : 50,
    paced_rate: 10,
  },
  // Delivery latency against load: the paced fan-out at rising rates.
  sweep: {
    subscribers: QUICK ? 200 : 1000,
    rates: QUICK ? [10, 50, 200, 400] : [10, 25, 50, 75, 100, 150, 200],
    seconds: QUICK ? 1.5 : 4,
  },
  conns: { connections: QUICK ? 2000 : 10_000 },
  // The throughput load under callgrind, which runs every thread of the
  // server on one simulated core: a count, not a time.
  instructions: { clients: 50, in_flight: 4, warmup: QUICK ? 500 : 2000, updates: QUICK ? 1000 : 3000 },
  plugin: { warmup: 200, updates: QUICK ? 500 : 3000 },
  // Fewer updates than fanout's burst: rendering for each of 1,000 clients
  // is slower, and the run must stay short.
  render: { subscribers: QUICK ? 200 : 1000, burst_updates: QUICK ? 100 : 300, burst_in_flight: 16 },
  // Past 32 pings (25 s apart by default on every server), a Socket.IO
  // session's outgoing queue may have grown: memory per connection is
  // measured again after 14 minutes.
  // Three servers' connections from one load generator: 18,000 sockets
  // stay under the usual limit of 20,000 open files.
  idle: { connections: QUICK ? 1500 : 6000, minutes: QUICK ? 1 : 14 },
};
/** How long deliveries may trail the last update before the rest count as missed. */
const DRAIN_MS = 20_000;

// --- servers ---

const SERVER_CPU = '0';
const LOAD_CPU = '1';
const canPin = hasTaskset && os.cpus().length >= 2;

function pinned(cmd, argv) {
  return canPin ? ['taskset', ['-c', SERVER_CPU, cmd, ...argv]] : [cmd, argv];
}

/** Moves this process, all its threads, to the load generator's core. */
function pinSelf() {
  if (!canPin || affinityOf(process.pid) === LOAD_CPU) return;
  spawnSync('taskset', ['-a', '-p', '-c', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
}

/**
 * Where the server of an `instructions` run writes its callgrind counts, or
 * null: set around that scenario only, so every other one measures the
 * server as it runs.
 */
let callgrindDir = null;

/** Starts a server from `[cmd, argv]`, waits for `ready` in its stderr. */
async function launch(name, cmd, argv, ready, cleanup = async () => {}) {
  if (callgrindDir) {
    // Instructions are counted only between `callgrind_control --zero` and
    // `--dump`: start-up and the warm-up are left out.
    argv = ['--tool=callgrind', `--callgrind-out-file=${path.join(callgrindDir, 'counts.%p')}`, cmd, ...argv];
    cmd = 'valgrind';
  }
  const [program, programArgs] = pinned(cmd, argv);
  const child = spawn(program, programArgs, { stdio: ['ignore', 'ignore', 'pipe'], cwd: REPO });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (log += chunk.slice(0, 100_000)));
  // Under valgrind, compiling the views takes minutes, not seconds.
  const deadline = Date.now() + (callgrindDir ? 600_000 : 60_000);
  while (!ready.test(log)) {
    if (child.exitCode !== null) throw new Error(`${name} exited:\n${log}`);
    if (Date.now() > deadline) throw new Error(`${name} did not start:\n${log}`);
    await sleep(50);
  }
  return {
    name,
    // taskset (and valgrind) exec the server: this is the server's own pid.
    pid: child.pid,
    cpus: affinityOf(child.pid),
    rss() {
      return rssOf(child.pid);
    },
    cpu() {
      return cpuOf(child.pid);
    },
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      await cleanup();
    },
  };
}

/** The views halo serves in the bench, as built in the plugins workspace. */
const HALO_VIEWS = ['my_models', 'echo', 'rendered_models'];

/** halo serving MyModels, Echo and RenderedModels from a fresh plugins folder and store. */
async function startHalo(durability = 'disk') {
  const port = await freePort();
  const plugins = await fsp.mkdtemp(path.join(os.tmpdir(), 'halo-bench-plugins-'));
  const data = await fsp.mkdtemp(path.join(os.tmpdir(), 'halo-bench-data-'));
  for (const view of HALO_VIEWS) {
    await fsp.copyFile(path.join(WASM, `${view}.wasm`), path.join(plugins, `${view}.wasm`));
  }
  const server = await launch(
    'halo',
    BIN,
    ['serve', '--port', String(port), '--plugins', plugins, '--data', data, '--durability', durability],
    /serving/,
    async () => {
      await fsp.rm(plugins, { recursive: true, force: true });
      await fsp.rm(data, { recursive: true, force: true });
    }
  );
  return { ...server, url: `http://127.0.0.1:${port}` };
}

/** The Node reference: in memory, or with each write committed to SQLite before its ack. */
async function startNode(durable = false) {
  const port = await freePort();
  const argv = [path.join(REPO, 'bench/reference/server.mjs'), String(port)];
  let dir = null;
  if (durable) {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'halo-bench-node-'));
    argv.push('--durable', path.join(dir, 'models.sqlite3'));
  }
  const server = await launch('node', process.execPath, argv, /serving/, async () => {
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });
  return { ...server, url: `http://127.0.0.1:${port}` };
}

/** The Node reference's job on socketioxide alone, in memory: what the socket library costs by itself. */
async function startBare() {
  const port = await freePort();
  const server = await launch('bare socketioxide', BARE, [String(port)], /serving/);
  return { ...server, url: `http://127.0.0.1:${port}` };
}

/**
 * What one fsync costs on the disk the servers write to, in the same run:
 * overwriting a block in place, and appending a block to a growing file.
 */
async function fsyncProbe() {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'halo-bench-fsync-'));
  const block = Buffer.alloc(4096, 7);
  const time = (file, grow) => {
    const fd = fs.openSync(file, 'w');
    const samples = [];
    for (let i = 0; i < 300; i++) {
      fs.writeSync(fd, block, 0, block.length, grow ? i * block.length : 0);
      const t0 = performance.now();
      fs.fsyncSync(fd);
      samples.push(performance.now() - t0);
    }
    fs.closeSync(fd);
    return percentiles(samples.slice(50)).p50;
  };
  try {
    return { overwrite_ms: time(path.join(dir, 'a'), false), grow_ms: time(path.join(dir, 'b'), true) };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

async function newModel(url, options) {
  const socket = await connect(url, '/', undefined, options);
  const model = ok(await socket.emit('MyModels:create', { someProperty: 'start' }), 'create');
  return { socket, id: model.id };
}

// --- fan-out rig: one writer, many subscribers, every delivery accounted for ---

/**
 * Connects a writer and `subscribers` clients to `server`, creates one model
 * per view in `views` and has every subscriber read (so subscribe to) each.
 * Subscriber `i` connects with `auth(i)`; its read answers are kept.
 *
 * Each update carries a run tag, its number and its send time in
 * `someProperty`; `run` checks every subscriber saw every number of its run
 * exactly once, and measures delivery latency and rate, and the CPU the server
 * and this load generator used meanwhile.
 */
async function fanoutRig(server, views, subscribers, auth = () => undefined) {
  const writer = await connect(server.url, '/', auth('writer'));
  const ids = {};
  for (const view of views) ids[view] = ok(await writer.emit(`${view}:create`, { someProperty: 'start' }), 'create').id;
  let current = null;
  const record = (index, change) => {
    const now = performance.now();
    const [tag, seq, sent] = String(change.someProperty).split(':');
    const run = current;
    // A late delivery of an earlier run is not this run's.
    if (!run || tag !== run.tag) return;
    const i = Number(seq);
    if (i < run.count) {
      const k = index * run.count + i;
      if (run.seen[k] < 255) run.seen[k]++;
    }
    run.samples.push(now - Number(sent));
    run.deliveries++;
    run.last = now;
  };
  const sockets = [];
  const reads = [];
  for (let s = 0; s < subscribers; s += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, subscribers - s) }, async (_, k) => {
        const index = s + k;
        const socket = await connect(server.url, '/', auth(index));
        const answers = {};
        for (const view of views) {
          socket.on(`${view}/${ids[view]}:serverchange`, (change) => record(index, change));
          answers[view] = ok(await socket.emit(`${view}:read`, { id: ids[view] }), 'read');
        }
        reads[index] = answers;
        return socket;
      })
    );
    sockets.push(...batch);
  }

  let runs = 0;
  /** `count` updates of `view`'s model, sent by `send(update, count)`. */
  async function run(view, count, send, { tolerateRefusal = false } = {}) {
    const tag = `r${runs++}`;
    const r = { tag, count, seen: new Uint8Array(subscribers * count), samples: [], deliveries: 0, last: 0 };
    current = r;
    const update = (i) =>
      writer.emit(`${view}:update`, { id: ids[view], someProperty: `${tag}:${i}:${performance.now()}` }).then((res) => ok(res, 'update'));
    const cpu0 = process.cpuUsage();
    const server0 = server.cpu();
    const t0 = performance.now();
    // A server that cannot keep up refuses updates once a connection has
    // too many waiting: for the sweep that ends the curve, elsewhere the run.
    let refused = null;
    try {
      await send(update, count);
    } catch (err) {
      if (!tolerateRefusal) throw err;
      refused = err.message;
    }
    // Deliveries trail the last ack; wait until they are all in (bounded).
    const expected = count * subscribers;
    const deadline = performance.now() + DRAIN_MS;
    while (r.deliveries < expected && performance.now() < deadline) await sleep(5);
    const end = Math.max(r.last, t0 + 1);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const serverCpu = server.cpu() - server0;
    current = null;
    let missed = 0;
    let duplicated = 0;
    for (const times of r.seen) {
      if (times === 0) missed++;
      else duplicated += times - 1;
    }
    const { p50, p99 } = percentiles(r.samples);
    return {
      updates: count,
      deliveries: r.deliveries,
      seconds: (end - t0) / 1000,
      deliveries_per_s: r.deliveries / ((end - t0) / 1000),
      delivery_p50_ms: p50 ?? null,
      delivery_p99_ms: p99 ?? null,
      missed,
      duplicated,
      refused,
      // Share of one core each side was busy, from the first update until
      // the last delivery arrived (the load generator's includes its waiting
      // for stragglers).
      server_cpu: serverCpu / wall,
      // What the server can deliver, whichever side is the limit: once the
      // load generator's core is the busy one, deliveries/s measures it.
      deliveries_per_server_cpu_s: serverCpu > 0 ? r.deliveries / serverCpu : null,
      load_cpu: (cpu.user + cpu.system) / 1e6 / wall,
    };
  }

  return {
    reads,
    run,
    close() {
      for (const socket of [writer, ...sockets]) socket.close();
    },
  };
}

/** The writer waits for each ack before the next update. */
const sequential = async (update, n) => {
  for (let i = 0; i < n; i++) await update(i);
};

/** `inFlight` updates outstanding at all times. */
const burst = (inFlight) => async (update, n) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await update(next++);
    })
  );
};

/** Updates at a fixed `rate` per second, whatever the acks do. */
const paced = (rate) => async (update, n) => {
  const start = performance.now();
  const pending = [];
  // Caught as it happens (a refusal can come while later sends still wait
  // their turn), reported once every send has settled; no more are sent.
  let failed = null;
  for (let i = 0; i < n && !failed; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(update(i).catch((err) => (failed ??= err)));
  }
  await Promise.all(pending);
  if (failed) throw failed;
};

// --- scenarios: each takes a running server, returns figures ---

async function rtt(server) {
  const p = PARAMS.rtt;
  const view = 'MyModels';
  const socket = await connect(server.url);
  const model = ok(await socket.emit(`${view}:create`, { someProperty: 'start' }), 'create');
  for (let i = 0; i < p.warmup; i++) ok(await socket.emit(`${view}:update`, { id: model.id, someProperty: `w${i}` }), 'update');
  const samples = [];
  for (let i = 0; i < p.updates; i++) {
    const t0 = performance.now();
    ok(await socket.emit(`${view}:update`, { id: model.id, someProperty: `v${i}` }), 'update');
    samples.push(performance.now() - t0);
  }
  socket.close();
  const { p50, p99 } = percentiles(samples);
  return { rtt_p50_ms: p50, rtt_p99_ms: p99 };
}

async function throughput(server) {
  const { clients, in_flight: inFlight, seconds } = PARAMS.throughput;
  const sockets = await Promise.all(Array.from({ length: clients }, () => newModel(server.url)));
  const samples = [];
  let acks = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const lanes = sockets.flatMap(({ socket, id }) =>
    Array.from({ length: inFlight }, async (_, lane) => {
      let i = 0;
      while (performance.now() < deadline) {
        const t0 = performance.now();
        ok(await socket.emit('MyModels:update', { id, someProperty: `${lane}:${i++}` }), 'update');
        samples.push(performance.now() - t0);
        acks++;
      }
    })
  );
  await Promise.all(lanes);
  const elapsed = (performance.now() - started) / 1000;
  for (const { socket } of sockets) socket.close();
  const { p99 } = percentiles(samples);
  return { acks_per_s: acks / elapsed, ack_p99_ms: p99 };
}

/**
 * 1,000 subscribers of one model, one writer: the writer waiting for each
 * ack, 16 updates in flight, and 10 updates a second. Every subscriber must
 * see every update once.
 */
async function fanout(server) {
  const p = PARAMS.fanout;
  const rig = await fanoutRig(server, ['MyModels'], p.subscribers);
  try {
    const seq = await rig.run('MyModels', p.sequential_updates, sequential);
    const bursty = await rig.run('MyModels', p.burst_updates, burst(p.burst_in_flight));
    const steady = await rig.run('MyModels', p.paced_updates, paced(p.paced_rate));
    return {
      figures: {
        fanout_seq_deliveries_per_s: seq.deliveries_per_s,
        fanout_seq_delivery_p99_ms: seq.delivery_p99_ms,
        fanout_burst_deliveries_per_s: bursty.deliveries_per_s,
        fanout_burst_delivery_p99_ms: bursty.delivery_p99_ms,
        fanout_burst_deliveries_per_cpu_s: bursty.deliveries_per_server_cpu_s,
        fanout_paced_delivery_p50_ms: steady.delivery_p50_ms,
        fanout_paced_delivery_p99_ms: steady.delivery_p99_ms,
        fanout_missed: seq.missed + bursty.missed + steady.missed,
        fanout_duplicated: seq.duplicated + bursty.duplicated + steady.duplicated,
      },
      detail: { sequential: seq, burst: bursty, paced: steady },
    };
  } finally {
    rig.close();
  }
}

/** A delivery p99 past this means the server is saturated: the sweep stops there. */
const SATURATED_MS = 2000;

/**
 * Delivery latency against load: the paced fan-out at each rate in turn. A
 * rate the server could not keep up with (deliveries still missing
 * `DRAIN_MS` after the last update, or a p99 past `SATURATED_MS`) ends the
 * sweep: higher rates are left out.
 */
async function sweep(server) {
  const p = PARAMS.sweep;
  const rig = await fanoutRig(server, ['MyModels'], p.subscribers);
  const points = [];
  try {
    await rig.run('MyModels', 20, sequential); // warm-up
    for (const rate of p.rates) {
      const point = await rig.run('MyModels', Math.round(rate * p.seconds), paced(rate), { tolerateRefusal: true });
      points.push({ rate, ...point });
      process.stderr.write(
        `  ${rate} updates/s: p50 ${point.delivery_p50_ms?.toFixed(2)} ms, p99 ${point.delivery_p99_ms?.toFixed(2)} ms, server CPU ${(point.server_cpu * 100).toFixed(0)}%, load generator CPU ${(point.load_cpu * 100).toFixed(0)}%\n`
      );
      if (point.refused || point.missed > 0 || point.delivery_p99_ms > SATURATED_MS) break;
      await sleep(300);
    }
  } finally {
    rig.close();
  }
  return points;
}

async function conns(server) {
  const total = PARAMS.conns.connections;
  await sleep(500);
  const before = server.rss();
  const sockets = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i += 250) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(250, total - i) }, () => connect(server.url)))));
  }
  const elapsed = (performance.now() - t0) / 1000;
  await sleep(1000);
  const after = server.rss();
  for (const socket of sockets) socket.close();
  return { connects_per_s: total / elapsed, bytes_per_conn: (after - before) / total };
}

/**
 * Memory per connection on each of `servers`, just after connecting and
 * again after the connections sat idle (answering pings) for
 * `PARAMS.idle.minutes`. Every side at once: the wait is the same for all.
 */
async function idle(servers) {
  const { connections, minutes } = PARAMS.idle;
  await sleep(500);
  const sides = [];
  for (const [side, server] of Object.entries(servers)) {
    const before = server.rss();
    const sockets = [];
    for (let i = 0; i < connections; i += 250) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(250, connections - i) }, () => connect(server.url)))));
    }
    sides.push({ side, server, before, sockets });
  }
  await sleep(1000);
  for (const entry of sides) entry.fresh = entry.server.rss();
  process.stderr.write(`  ${connections} connections open on each side; waiting ${minutes} minutes\n`);
  await sleep(minutes * 60_000);
  const out = {};
  for (const { side, server, before, sockets, fresh } of sides) {
    const closed = sockets.filter((socket) => socket.closed).length;
    out[side] = {
      bytes_per_conn_fresh: (fresh - before) / connections,
      bytes_per_conn_idle: (server.rss() - before) / connections,
      closed,
    };
    for (const socket of sockets) socket.close();
  }
  return out;
}

/**
 * Instructions the server ran per acked update, all its threads, user space
 * only (callgrind counts no kernel work): the throughput load, counted from
 * after a warm-up until the last ack. Repeatable where times are not.
 */
async function instructions(server) {
  const p = PARAMS.instructions;
  // Under valgrind a handshake takes far longer than the usual timeout.
  const sockets = await Promise.all(Array.from({ length: p.clients }, () => newModel(server.url, { timeout: 120_000 })));
  const drive = async (total) => {
    let sent = 0;
    await Promise.all(
      sockets.flatMap(({ socket, id }) =>
        Array.from({ length: p.in_flight }, async (_, lane) => {
          while (sent < total) {
            sent++;
            ok(await socket.emit('MyModels:update', { id, someProperty: `${lane}:${sent}` }), 'update');
          }
        })
      )
    );
  };
  const control = (flag) => {
    const run = spawnSync('callgrind_control', [flag, String(server.pid)], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`callgrind_control ${flag} failed: ${run.stderr || run.stdout}`);
  };
  await drive(p.warmup);
  control('--zero');
  await drive(p.updates);
  control('--dump');
  for (const { socket } of sockets) socket.close();
  const dump = await fsp.readFile(path.join(callgrindDir, `counts.${server.pid}.1`), 'utf8');
  const total = Number(/^summary:\s+(\d+)/m.exec(dump)?.[1]);
  if (!total) throw new Error('no instruction count in the callgrind dump');
  return { instructions_per_ack: total / p.updates };
}

/** Whether valgrind and callgrind_control are on this machine. */
const hasCallgrind = () =>
  spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status === 0 &&
  spawnSync('callgrind_control', ['-h'], { stdio: 'ignore' }).status === 0;

/**
 * halo only: the cost of a Wasm handler, against a built-in update: the
 * server's CPU time per update (all threads, from the scheduler's
 * nanosecond counts) and the round trip's p50. The two views alternate in
 * blocks on one connection, so both meet the same disk and the same load:
 * each fsync varies by more than the call costs.
 */
async function plugin(server) {
  const p = PARAMS.plugin;
  const socket = await connect(server.url);
  const ids = {};
  for (const view of ['MyModels', 'Echo']) ids[view] = ok(await socket.emit(`${view}:create`, { someProperty: 'start' }), 'create').id;
  const samples = { MyModels: [], Echo: [] };
  const cpu = { MyModels: 0, Echo: 0 };
  const BLOCK = 50;
  for (let block = 0; block * BLOCK < p.warmup + p.updates; block++) {
    const measured = block * BLOCK >= p.warmup;
    for (const view of block % 2 ? ['MyModels', 'Echo'] : ['Echo', 'MyModels']) {
      const cpu0 = cpuTimeOf(server.pid);
      for (let i = 0; i < BLOCK; i++) {
        const t0 = performance.now();
        ok(await socket.emit(`${view}:update`, { id: ids[view], someProperty: `v${block}.${i}` }), 'update');
        if (measured) samples[view].push(performance.now() - t0);
      }
      if (measured) cpu[view] += cpuTimeOf(server.pid) - cpu0;
    }
  }
  socket.close();
  const n = samples.MyModels.length;
  const custom = percentiles(samples.MyModels).p50;
  const builtin = percentiles(samples.Echo).p50;
  return {
    custom_p50_ms: custom,
    builtin_p50_ms: builtin,
    wasm_us: (custom - builtin) * 1000,
    custom_cpu_us: (cpu.MyModels / n) * 1e6,
    builtin_cpu_us: (cpu.Echo / n) * 1e6,
    wasm_cpu_us: ((cpu.MyModels - cpu.Echo) / n) * 1e6,
  };
}

/**
 * halo only: the burst fan-out through RenderedModels, whose render runs for
 * every client, against the same through MyModels, whose models go out as
 * stored. Both views run the same Wasm update handler. Every subscriber has
 * claims of its own (`user`), so each is an audience of its own: halo renders
 * once per distinct claims.
 */
async function render(server) {
  const p = PARAMS.render;
  const rig = await fanoutRig(server, ['MyModels', 'RenderedModels'], p.subscribers, (i) => ({ user: `u${i}` }));
  try {
    rig.reads.forEach((answers, i) => {
      if (answers.RenderedModels.viewer !== `u${i}`) {
        throw new Error(`RenderedModels did not render for subscriber ${i}: ${JSON.stringify(answers.RenderedModels)}`);
      }
    });
    // Warm-up, then each view in turn.
    await rig.run('MyModels', 20, sequential);
    await rig.run('RenderedModels', 20, sequential);
    const shared = await rig.run('MyModels', p.burst_updates, burst(p.burst_in_flight));
    const perClient = await rig.run('RenderedModels', p.burst_updates, burst(p.burst_in_flight));
    return { shared, per_client: perClient, ratio: perClient.deliveries_per_s / shared.deliveries_per_s };
  } finally {
    rig.close();
  }
}

// --- the run ---

function versions() {
  const commit = versionOf('git', ['-C', REPO, 'rev-parse', '--short=12', 'HEAD']);
  // Changes to the results themselves do not make the build dirty.
  const dirty = versionOf('git', ['-C', REPO, 'status', '--porcelain', '--', '.', ':!bench/results']);
  let socketIo = null;
  try {
    socketIo = JSON.parse(fs.readFileSync(path.join(REPO, 'bench/node_modules/socket.io/package.json'), 'utf8')).version;
  } catch {}
  return {
    halo: versionOf(BIN, ['--version']),
    halo_commit: commit && (dirty ? `${commit}+dirty` : commit),
    rustc: versionOf('rustc', ['--version']),
    node: process.version,
    socket_io: socketIo,
  };
}

async function main() {
  if (only && !only.some((name) => ALL.includes(name))) {
    console.error(`run.mjs: nothing to run here (${only.map((name) => `${name} is ${ELSEWHERE[name]}'s`).join(', ')})`);
    return;
  }
  if (!fs.existsSync(BIN)) throw new Error(`no halo binary at ${BIN}: build it or set HALO_BIN`);
  if (!fs.existsSync(BARE)) {
    throw new Error(`no bare socketioxide server at ${BARE}: cargo build --release -p bare-socketioxide, or set BARE_BIN`);
  }
  for (const view of HALO_VIEWS) {
    if (!fs.existsSync(path.join(WASM, `${view}.wasm`))) {
      throw new Error(`no ${view}.wasm in ${WASM}: build the plugins (make plugins) or set HALO_WASM_DIR`);
    }
  }
  pinSelf();
  const loadCpus = affinityOf(process.pid);
  const blank = () => Object.fromEntries(MAIN_FIGURES.map((key) => [key, null]));
  // Every key is always there (null when its scenario did not run), so the
  // file has one shape whatever ran.
  const results = {
    schema: 1,
    date: new Date().toISOString(),
    quick: QUICK,
    scenarios: ALL.filter(wanted),
    machine: machine(),
    versions: versions(),
    pinning: {
      applied: false,
      server_cpus: { halo: null, halo_process: null, node: null, node_durable: null, bare: null },
      load_generator_cpus: loadCpus,
    },
    params: PARAMS,
    fsync: await fsyncProbe(),
    halo: blank(),
    halo_process: blank(),
    node: blank(),
    node_durable: blank(),
    bare: blank(),
    fanout: { halo: null, halo_process: null, node: null, node_durable: null, bare: null },
    sweep: { halo: null, node: null },
    plugin: null,
    render: null,
    idle: null,
  };
  // halo with durability disk against Node committing to SQLite; halo with
  // durability process against Node in memory.
  const starts = {
    halo: () => startHalo('disk'),
    halo_process: () => startHalo('process'),
    node: () => startNode(false),
    node_durable: () => startNode(true),
    bare: startBare,
  };
  const ALL_SIDES = Object.keys(starts);
  const sidesOf = { sweep: ['halo', 'node'], conns: ['halo_process', 'node', 'bare'] };
  const serve = async (side, name, scenario) => {
    const server = await starts[side]();
    results.pinning.server_cpus[side] = server.cpus;
    try {
      process.stderr.write(`${name} on ${side}…\n`);
      return await scenario(server);
    } finally {
      await server.stop();
    }
  };
  for (const [name, scenario] of Object.entries({ rtt, throughput, fanout, sweep, conns, instructions })) {
    if (!wanted(name)) continue;
    if (name === 'instructions' && !hasCallgrind()) {
      console.error('instructions: skipped, valgrind is not installed (apt-get install valgrind)');
      continue;
    }
    for (const side of sidesOf[name] || ALL_SIDES) {
      if (name === 'instructions') callgrindDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'halo-bench-callgrind-'));
      let out;
      try {
        out = await serve(side, name, scenario);
      } finally {
        if (callgrindDir) await fsp.rm(callgrindDir, { recursive: true, force: true });
        callgrindDir = null;
      }
      if (name === 'fanout') {
        Object.assign(results[side], out.figures);
        results.fanout[side] = out.detail;
      } else if (name === 'sweep') {
        results.sweep[side] = out;
      } else {
        Object.assign(results[side], out);
      }
    }
  }
  if (wanted('idle')) {
    const servers = {};
    try {
      for (const side of ['halo_process', 'node', 'bare']) {
        servers[side] = await starts[side]();
        results.pinning.server_cpus[side] = servers[side].cpus;
      }
      process.stderr.write('idle on halo_process, node and bare at once…\n');
      results.idle = { minutes: PARAMS.idle.minutes, ...(await idle(servers)) };
    } finally {
      for (const server of Object.values(servers)) await server.stop();
    }
  }
  if (wanted('plugin')) results.plugin = await serve('halo', 'plugin', plugin);
  if (wanted('render')) results.render = await serve('halo', 'render', render);
  results.pinning.applied =
    canPin &&
    loadCpus === LOAD_CPU &&
    Object.values(results.pinning.server_cpus).every((cpus) => cpus === null || cpus === SERVER_CPU);

  await fsp.mkdir(path.dirname(OUT), { recursive: true });
  await fsp.writeFile(OUT, `${JSON.stringify(results, null, 2)}\n`);
  const table = markdown(results);
  await fsp.writeFile(path.join(path.dirname(OUT), 'table.md'), table);
  console.log(table);
  const written = [OUT, path.join(path.dirname(OUT), 'table.md')];
  if (results.sweep.halo || results.sweep.node) {
    try {
      written.push(await plot(results, path.join(path.dirname(OUT), 'latency.png')));
    } catch (err) {
      console.error(`no plot: ${err.message}`);
    }
  }
  console.log(written.map((file) => `written: ${path.relative(process.cwd(), file)}`).join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
