// Multi-tenant benchmarks: what a noisy tenant does to a quiet one's latency,
// what an idle tenant costs in memory, and how long a cold tenant's first
// request takes. halo runs pinned to one core and this load generator to the
// other. Every figure is reported as a ratio to a reference measured in the
// same run.
//
//   node bench/tenants.mjs            (or: make bench-tenants)
//
// Environment: HALO_BIN (default target/release/halo), HALO_WASM_DIR (built
// plugins), BENCH_TENANTS (default 1000), BENCH_OUT (JSON results file).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from './eio.mjs';
import { freePort, hasTaskset, ok, percentiles, rssOf, sleep } from './common.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.resolve(REPO, process.env.HALO_BIN || process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, 'release/halo') || 'target/release/halo');
const WASM = path.resolve(REPO, process.env.HALO_WASM_DIR || 'plugins/target/wasm32-wasip2/release');
const TENANTS = Number(process.env.BENCH_TENANTS || 1000);
const OUT = path.resolve(REPO, process.env.BENCH_OUT || 'bench/results/tenants.json');
const QUIET_REQUESTS = 1000;
const COLD_SAMPLES = 50;



async function tmp(prefix) {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Tenant folders `names` in `dir`, each with `plugins` hard-linked in. */
async function tenantFolders(dir, names, plugins) {
  for (const name of names) {
    const folder = path.join(dir, name, 'plugins');
    await fsp.mkdir(folder, { recursive: true });
    for (const plugin of plugins) fs.linkSync(path.join(WASM, `${plugin}.wasm`), path.join(folder, `${plugin}.wasm`));
  }
}

/** `halo serve --tenants dir` on core 0; resolves once it is serving. */
async function startHalo(tenantsDir, args = []) {
  const port = await freePort();
  const data = await tmp('halo-bench-data-');
  const argv = ['serve', '--port', String(port), '--tenants', tenantsDir, '--data', data, ...args];
  const child = hasTaskset
    ? spawn('taskset', ['-c', '0', BIN, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(BIN, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (log += chunk));
  const deadline = Date.now() + 120_000;
  while (!/serving/.test(log)) {
    if (child.exitCode !== null) throw new Error(`halo exited:\n${log}`);
    if (Date.now() > deadline) throw new Error(`halo did not start:\n${log}`);
    await sleep(50);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    /** Resident memory of the server, in bytes. */
    rss() {
      return rssOf(child.pid);
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await fsp.rm(data, { recursive: true, force: true });
    },
  };
}




/** Latencies of `n` sequential updates of one todo, in ms. */
async function updates(socket, id, n) {
  const latencies = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    ok(await socket.emit('Todos:update', { id, title: `t${i}` }), 'update');
    latencies.push(performance.now() - started);
  }
  return latencies;
}

async function noisyNeighbour() {
  const dir = await tmp('halo-bench-tenants-');
  await tenantFolders(dir, ['quiet'], ['todos']);
  await tenantFolders(dir, ['noisy'], ['spin']);
  const halo = await startHalo(dir);
  try {
    const quiet = await connect(halo.url, '/quiet');
    const todo = ok(await quiet.emit('Todos:create', { title: 'bench' }), 'create');
    await updates(quiet, todo.id, 100); // warm-up
    const alone = percentiles(await updates(quiet, todo.id, QUIET_REQUESTS));

    // Eight connections, each looping a call that spins until its deadline.
    const noisy = await Promise.all(Array.from({ length: 8 }, () => connect(halo.url, '/noisy')));
    let stop = false;
    let spun = 0;
    const flood = noisy.map(async (socket) => {
      while (!stop) {
        await Promise.all([socket.emit('Spin:spin', {}), socket.emit('Spin:spin', {})]);
        spun += 2;
      }
    });
    await sleep(500);
    const crowded = percentiles(await updates(quiet, todo.id, QUIET_REQUESTS));
    stop = true;
    await Promise.all(flood);
    for (const socket of [quiet, ...noisy]) socket.close();
    return { alone, crowded, noisy_calls: spun };
  } finally {
    await halo.stop();
  }
}

async function manyTenants() {
  const emptyDir = await tmp('halo-bench-tenants-');
  const empty = await startHalo(emptyDir);
  await sleep(1000);
  const baseline = empty.rss();
  await empty.stop();

  const dir = await tmp('halo-bench-tenants-');
  const names = Array.from({ length: TENANTS }, (_, i) => `t${String(i).padStart(4, '0')}`);
  await tenantFolders(dir, names, ['todos']);
  const started = performance.now();
  const halo = await startHalo(dir, ['--tenant-idle-secs', '2']);
  const startup = performance.now() - started;
  try {
    await sleep(1000);
    const registered = halo.rss();

    // One tenant first, so the component is compiled and cached: what is
    // measured is a tenant's own cold start, not the first compile.
    const first = await connect(halo.url, `/${names[0]}`);
    ok(await first.emit('Todos:list'), 'list');
    first.close();

    const sample = names.slice(1, 1 + COLD_SAMPLES);
    const firstRequest = async (name) => {
      const t0 = performance.now();
      const socket = await connect(halo.url, `/${name}`);
      ok(await socket.emit('Todos:list'), 'list');
      const took = performance.now() - t0;
      return { socket, took };
    };
    const cold = [];
    const open = [];
    for (const name of sample) {
      const { socket, took } = await firstRequest(name);
      cold.push(took);
      open.push(socket);
    }
    // The same tenants again, now loaded: a new connection and its first request.
    const warm = [];
    for (const name of sample) {
      const { socket, took } = await firstRequest(name);
      warm.push(took);
      socket.close();
    }
    await sleep(500);
    const loaded = halo.rss();
    for (const socket of open) socket.close();
    await sleep(4000); // past the idle time: unloaded
    const unloaded = halo.rss();
    return {
      tenants: TENANTS,
      startup_ms: startup,
      rss: { baseline, registered, loaded, unloaded },
      per_idle_tenant: (registered - baseline) / TENANTS,
      per_loaded_tenant: (loaded - registered) / sample.length,
      cold: percentiles(cold),
      warm: percentiles(warm),
    };
  } finally {
    await halo.stop();
  }
}

function versions() {
  const halo = spawnSync(BIN, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { halo, node: process.version, cpu: os.cpus()[0]?.model, cores: os.cpus().length, pinned: hasTaskset };
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (value) => `${value.toFixed(2)} ms`;
const ratio = (a, b) => `${(a / b).toFixed(2)}×`;

async function main() {
  if (!fs.existsSync(BIN)) throw new Error(`no halo binary at ${BIN}: build it (cargo build --release -p halo) or set HALO_BIN`);
  const noisy = await noisyNeighbour();
  const many = await manyTenants();
  const results = { date: new Date().toISOString(), machine: versions(), noisy, many };
  await fsp.mkdir(path.dirname(OUT), { recursive: true });
  await fsp.writeFile(OUT, `${JSON.stringify(results, null, 2)}\n`);

  const rows = [
    ['quiet tenant update p50, noisy neighbour / alone', ms(noisy.crowded.p50), ms(noisy.alone.p50), ratio(noisy.crowded.p50, noisy.alone.p50)],
    ['quiet tenant update p99, noisy neighbour / alone', ms(noisy.crowded.p99), ms(noisy.alone.p99), ratio(noisy.crowded.p99, noisy.alone.p99)],
    [`memory per idle tenant (of ${many.tenants}) / per loaded tenant`, kib(many.per_idle_tenant), kib(many.per_loaded_tenant), ratio(many.per_idle_tenant, many.per_loaded_tenant)],
    ['first request p50, cold tenant / loaded tenant', ms(many.cold.p50), ms(many.warm.p50), ratio(many.cold.p50, many.warm.p50)],
    ['first request p99, cold tenant / loaded tenant', ms(many.cold.p99), ms(many.warm.p99), ratio(many.cold.p99, many.warm.p99)],
  ];
  console.log(`halo multi-tenant benchmark — ${results.machine.halo}, node ${results.machine.node}, ${results.machine.cpu} (${results.machine.cores} cores${hasTaskset ? ', halo pinned to core 0, load to core 1' : ', not pinned: taskset missing'})\n`);
  console.log('| figure | measured | reference | ratio |');
  console.log('|---|---:|---:|---:|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log(`\n${many.tenants} tenants registered in ${ms(many.startup_ms)} (process start included); RSS ${kib(many.rss.baseline)} with none, ${kib(many.rss.registered)} with all registered, ${kib(many.rss.loaded)} with ${COLD_SAMPLES} loaded, ${kib(many.rss.unloaded)} after they unloaded. Noisy tenant calls served meanwhile: ${noisy.noisy_calls}.`);
  console.log(`results: ${path.relative(REPO, OUT)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
