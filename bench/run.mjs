// halo against a Node socket.io server doing the same job, side by side in
// one run. Each server runs alone, pinned to core 0; this load generator
// should run on core 1 (`make bench` pins it). Clients speak Engine.IO v4 /
// Socket.IO v5 over websockets directly (eio.mjs), on loopback only, and
// every scenario is bounded in time and stops by itself.
//
//   node bench/run.mjs [--only rtt,throughput,fanout,conns,plugin] [--quick]
//
// Environment: HALO_BIN, HALO_WASM_DIR, BENCH_OUT (JSON results file).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from './eio.mjs';
import { freePort, hasTaskset, ok, percentiles, rssOf, sleep } from './common.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.resolve(
  REPO,
  process.env.HALO_BIN ||
    (process.env.CARGO_TARGET_DIR ? path.join(process.env.CARGO_TARGET_DIR, 'release/halo') : 'target/release/halo')
);
const WASM = path.resolve(REPO, process.env.HALO_WASM_DIR || 'plugins/target/wasm32-wasip2/release');
const OUT = path.resolve(REPO, process.env.BENCH_OUT || 'bench/results/run.json');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;



function pinned(cmd, argv) {
  return hasTaskset ? ['taskset', ['-c', '0', cmd, ...argv]] : [cmd, argv];
}

/** Starts a server from `[cmd, argv]`, waits for `ready` in its stderr. */
async function launch(name, cmd, argv, ready, cleanup = async () => {}) {
  const [program, programArgs] = pinned(cmd, argv);
  const child = spawn(program, programArgs, { stdio: ['ignore', 'ignore', 'pipe'], cwd: REPO });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (log += chunk.slice(0, 100_000)));
  const deadline = Date.now() + 60_000;
  while (!ready.test(log)) {
    if (child.exitCode !== null) throw new Error(`${name} exited:\n${log}`);
    if (Date.now() > deadline) throw new Error(`${name} did not start:\n${log}`);
    await sleep(50);
  }
  return {
    name,
    rss() {
      return rssOf(child.pid);
    },
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      await cleanup();
    },
  };
}

async function startHalo() {
  const port = await freePort();
  const plugins = await fsp.mkdtemp(path.join(os.tmpdir(), 'halo-bench-plugins-'));
  const data = await fsp.mkdtemp(path.join(os.tmpdir(), 'halo-bench-data-'));
  for (const view of ['my_models', 'echo']) {
    await fsp.copyFile(path.join(WASM, `${view}.wasm`), path.join(plugins, `${view}.wasm`));
  }
  const server = await launch(
    'halo',
    BIN,
    ['serve', '--port', String(port), '--plugins', plugins, '--data', data],
    /serving/,
    async () => {
      await fsp.rm(plugins, { recursive: true, force: true });
      await fsp.rm(data, { recursive: true, force: true });
    }
  );
  return { ...server, url: `http://127.0.0.1:${port}` };
}

async function startNode() {
  const port = await freePort();
  const server = await launch('node', process.execPath, [path.join(REPO, 'bench/reference/server.mjs'), String(port)], /serving/);
  return { ...server, url: `http://127.0.0.1:${port}` };
}




async function newModel(url) {
  const socket = await connect(url);
  const model = ok(await socket.emit('MyModels:create', { someProperty: 'start' }), 'create');
  return { socket, id: model.id };
}

// --- scenarios: each takes a running server's url, returns figures ---

async function rtt(url, view = 'MyModels') {
  const socket = await connect(url);
  const model = ok(await socket.emit(`${view}:create`, { someProperty: 'start' }), 'create');
  const n = QUICK ? 500 : 3000;
  for (let i = 0; i < 200; i++) ok(await socket.emit(`${view}:update`, { id: model.id, someProperty: `w${i}` }), 'update');
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    ok(await socket.emit(`${view}:update`, { id: model.id, someProperty: `v${i}` }), 'update');
    samples.push(performance.now() - t0);
  }
  socket.close();
  const { p50, p99 } = percentiles(samples);
  return { rtt_p50_ms: p50, rtt_p99_ms: p99 };
}

async function throughput(url) {
  const clients = 50;
  const inFlight = 4;
  const seconds = QUICK ? 3 : 10;
  const sockets = await Promise.all(Array.from({ length: clients }, () => newModel(url)));
  const samples = [];
  let acks = 0;
  let stop = false;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const lanes = sockets.flatMap(({ socket, id }) =>
    Array.from({ length: inFlight }, async (_, lane) => {
      let i = 0;
      while (!stop && performance.now() < deadline) {
        const t0 = performance.now();
        ok(await socket.emit('MyModels:update', { id, someProperty: `${lane}:${i++}` }), 'update');
        samples.push(performance.now() - t0);
        acks++;
      }
    })
  );
  await Promise.all(lanes);
  stop = true;
  const elapsed = (performance.now() - started) / 1000;
  for (const { socket } of sockets) socket.close();
  const { p99 } = percentiles(samples);
  return { acks_per_s: acks / elapsed, ack_p99_ms: p99 };
}

/**
 * 1,000 subscribers of one model, one writer. Each update carries its number
 * and send time; every subscriber must see every number once.
 */
async function fanout(url) {
  const subscribers = QUICK ? 200 : 1000;
  const { socket: writer, id } = await newModel(url);
  const seen = Array.from({ length: subscribers }, () => new Map());
  const latencies = [];
  let deliveries = 0;
  let lastDelivery = 0;
  const subs = [];
  for (let s = 0; s < subscribers; s += 100) {
    subs.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, subscribers - s) }, async (_, k) => {
          const socket = await connect(url);
          const index = s + k;
          socket.on(`MyModels/${id}:serverchange`, (change) => {
            const [mode, seq, sent] = String(change.someProperty).split(':');
            const key = `${mode}:${seq}`;
            seen[index].set(key, (seen[index].get(key) || 0) + 1);
            const now = performance.now();
            latencies.push([mode, now - Number(sent)]);
            deliveries++;
            lastDelivery = now;
          });
          ok(await socket.emit('MyModels:read', { id }), 'read');
          return socket;
        })
      ))
    );
  }

  async function run(mode, count, send) {
    deliveries = 0;
    const before = latencies.length;
    const t0 = performance.now();
    await send(count);
    // Deliveries trail the last ack; wait until they stop (bounded).
    const expected = count * subscribers;
    const deadline = performance.now() + 20_000;
    while (deliveries < expected && performance.now() < deadline) await sleep(20);
    const elapsed = (Math.max(lastDelivery, t0 + 1) - t0) / 1000;
    const own = latencies.slice(before).filter(([m]) => m === mode).map(([, l]) => l);
    let missed = 0;
    let duplicated = 0;
    for (const map of seen) {
      for (let i = 0; i < count; i++) {
        const times = map.get(`${mode}:${i}`) || 0;
        if (times === 0) missed++;
        if (times > 1) duplicated += times - 1;
      }
    }
    return { deliveries_per_s: deliveries / elapsed, delivery_p99_ms: percentiles(own).p99, missed, duplicated };
  }

  const update = (mode, i) =>
    writer.emit('MyModels:update', { id, someProperty: `${mode}:${i}:${performance.now()}` }).then((r) => ok(r, 'update'));
  const sequential = await run('seq', QUICK ? 50 : 200, async (n) => {
    for (let i = 0; i < n; i++) await update('seq', i);
  });
  const burst = await run('burst', QUICK ? 200 : 1000, async (n) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < n) await update('burst', next++);
      })
    );
  });
  const paced = await run('paced', QUICK ? 20 : 50, async (n) => {
    const start = performance.now();
    const pending = [];
    for (let i = 0; i < n; i++) {
      const due = start + i * 100;
      await sleep(Math.max(0, due - performance.now()));
      pending.push(update('paced', i));
    }
    await Promise.all(pending);
  });
  for (const socket of [writer, ...subs]) socket.close();
  return {
    fanout_seq_deliveries_per_s: sequential.deliveries_per_s,
    fanout_burst_deliveries_per_s: burst.deliveries_per_s,
    fanout_paced_delivery_p99_ms: paced.delivery_p99_ms,
    fanout_missed: sequential.missed + burst.missed + paced.missed,
    fanout_duplicated: sequential.duplicated + burst.duplicated + paced.duplicated,
  };
}

async function conns(url, server) {
  const total = QUICK ? 2000 : 10_000;
  await sleep(500);
  const before = server.rss();
  const sockets = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i += 250) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(250, total - i) }, () => connect(url)))));
  }
  const elapsed = (performance.now() - t0) / 1000;
  await sleep(1000);
  const after = server.rss();
  for (const socket of sockets) socket.close();
  return { connects_per_s: total / elapsed, bytes_per_conn: (after - before) / total };
}

/** halo only: the cost of a Wasm handler, against a built-in update. */
async function plugin(url) {
  const custom = await rtt(url, 'MyModels');
  const builtin = await rtt(url, 'Echo');
  return { custom_p50_ms: custom.rtt_p50_ms, builtin_p50_ms: builtin.rtt_p50_ms, wasm_us: (custom.rtt_p50_ms - builtin.rtt_p50_ms) * 1000 };
}

const SCENARIOS = { rtt: (url) => rtt(url), throughput, fanout, conns };

async function main() {
  if (!fs.existsSync(BIN)) throw new Error(`no halo binary at ${BIN}: build it or set HALO_BIN`);
  const results = {
    date: new Date().toISOString(),
    machine: {
      halo: spawnSync(BIN, ['--version'], { encoding: 'utf8' }).stdout.trim(),
      node: process.version,
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      pinned: hasTaskset,
      quick: QUICK,
    },
    halo: {},
    node: {},
  };
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    if (only && !only.includes(name)) continue;
    for (const [side, start] of [['halo', startHalo], ['node', startNode]]) {
      const server = await start();
      try {
        process.stderr.write(`${name} on ${side}…\n`);
        Object.assign(results[side], await scenario(server.url, server));
      } finally {
        await server.stop();
      }
    }
  }
  if (!only || only.includes('plugin')) {
    const server = await startHalo();
    try {
      process.stderr.write('plugin on halo…\n');
      results.plugin = await plugin(server.url);
    } finally {
      await server.stop();
    }
  }
  await fsp.mkdir(path.dirname(OUT), { recursive: true });
  await fsp.writeFile(OUT, `${JSON.stringify(results, null, 2)}\n`);

  const m = results.machine;
  console.log(`${m.halo} vs node ${m.node} + socket.io 4, ${m.cpu} (${m.cores} cores${m.pinned ? '; servers on core 0, load on core 1' : ''})${QUICK ? ', quick run' : ''}\n`);
  console.log('| figure | halo | node | halo / node |');
  console.log('|---|---:|---:|---:|');
  for (const key of Object.keys(results.halo)) {
    const h = results.halo[key];
    const n = results.node[key];
    const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
    console.log(`| ${key} | ${fmt(h)} | ${fmt(n)} | ${n ? (h / n).toFixed(2) + '×' : '–'} |`);
  }
  if (results.plugin) {
    const p = results.plugin;
    console.log(`\nWasm handler: ${p.wasm_us.toFixed(1)} µs added per call (update p50 ${p.custom_p50_ms.toFixed(3)} ms through MyModels' handler, ${p.builtin_p50_ms.toFixed(3)} ms built-in)`);
  }
  console.log(`\nresults: ${path.relative(REPO, OUT)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
