// The same view, Todos, written in Rust, JavaScript and Python, each loaded
// in a halo of its own: component size, time to load (compile, cold cache),
// the first create after loading (a fresh instance), the per-call cost of a
// create over Socket.IO and inside the view, and the memory the view adds
// to halo. Every figure is also given as a ratio to Rust's, measured in the
// same run. halo runs pinned to core 0 and this load generator on the
// other.
//
//   node bench/languages.mjs          (or: make bench, after `make views`)
//
// Environment: HALO_BIN (default target/release/halo), HALO_WASM_DIR (built
// Rust plugins), HALO_VIEWS_DIR (JS and Python builds, default build/views),
// BENCH_CALLS (default 2000), BENCH_OUT (JSON results file).

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
const VIEWS = path.resolve(REPO, process.env.HALO_VIEWS_DIR || 'build/views');
const CALLS = Number(process.env.BENCH_CALLS || 2000);
const WARM_UP = 200;
const OUT = path.resolve(REPO, process.env.BENCH_OUT || 'bench/results/languages.json');

const LANGUAGES = [
  { language: 'Rust', file: path.join(WASM, 'todos.wasm') },
  { language: 'JavaScript', file: path.join(VIEWS, 'js-todos.wasm') },
  { language: 'Python', file: path.join(VIEWS, 'py-todos.wasm') },
];

/** `halo serve` of an empty plugins folder on core 0, with a fresh data folder (so a cold compile cache). */
async function startHalo() {
  const port = await freePort();
  const data = await fsp.mkdtemp(path.join(os.tmpdir(), 'halo-bench-data-'));
  const plugins = await fsp.mkdtemp(path.join(os.tmpdir(), 'halo-bench-plugins-'));
  const argv = ['serve', '--port', String(port), '--plugins', plugins, '--data', data];
  const child = hasTaskset
    ? spawn('taskset', ['-c', '0', BIN, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(BIN, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => (log += chunk));
  await until(() => /serving/.test(log), () => `halo did not start:\n${log}`, child);
  return {
    url: `http://127.0.0.1:${port}`,
    plugins,
    log: () => log,
    child,
    rss: () => rssOf(child.pid),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await fsp.rm(data, { recursive: true, force: true });
      await fsp.rm(plugins, { recursive: true, force: true });
    },
  };
}

/** Waits for `done()`, polling every 5 ms, for at most two minutes. */
async function until(done, why, child) {
  const deadline = Date.now() + 120_000;
  while (!done()) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(why());
    await sleep(5);
  }
}

/** The mean time halo spent running `view`'s code per call, from /metrics, in ms. */
async function timeInView(url, view) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (what) => Number(new RegExp(`^halo_plugin_call_duration_seconds_${what}\\{[^}]*view="${view}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
  return { ms: (read('sum') / read('count')) * 1000, calls: read('count') };
}

async function measure({ language, file }) {
  const halo = await startHalo();
  try {
    const idle = halo.rss();
    // Dropped in whole, as a deploy does; loaded once halo logs it.
    const aside = path.join(os.tmpdir(), `halo-bench-${process.pid}-${path.basename(file)}`);
    await fsp.copyFile(file, aside);
    const dropped = performance.now();
    await fsp.rename(aside, path.join(halo.plugins, 'todos.wasm'));
    await until(() => /view loaded/.test(halo.log()), () => `${language}: not loaded:\n${halo.log()}`, halo.child);
    const load = performance.now() - dropped;

    const socket = await connect(halo.url, '/');
    let started = performance.now();
    ok(await socket.emit('Todos:create', { title: ' first ' }), 'create');
    const first = performance.now() - started;
    for (let i = 0; i < WARM_UP; i++) ok(await socket.emit('Todos:create', { title: `warm ${i}` }), 'create');
    const latencies = [];
    for (let i = 0; i < CALLS; i++) {
      started = performance.now();
      ok(await socket.emit('Todos:create', { title: ` todo ${i} ` }), 'create');
      latencies.push(performance.now() - started);
    }
    const inView = await timeInView(halo.url, 'Todos');
    const rss = halo.rss();
    socket.close();
    return {
      language,
      bytes: fs.statSync(file).size,
      load_ms: load,
      first_ms: first,
      create: percentiles(latencies),
      in_view_ms: inView.ms,
      memory_bytes: rss - idle,
    };
  } finally {
    await halo.stop();
  }
}

function versions() {
  const halo = spawnSync(BIN, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { halo, node: process.version, cpu: os.cpus()[0]?.model, cores: os.cpus().length, pinned: hasTaskset };
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const ms = (value) => (value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(2)} ms`);
const us = (value) => `${Math.round(value * 1000)} µs`;
const times = (a, b) => `${(a / b).toFixed(a / b >= 10 ? 0 : 1)}×`;

async function main() {
  if (!fs.existsSync(BIN)) throw new Error(`no halo binary at ${BIN}: build it (cargo build --release -p halo) or set HALO_BIN`);
  for (const { file } of LANGUAGES) {
    if (!fs.existsSync(file)) throw new Error(`${file} is not built: make plugins views`);
  }
  const runs = [];
  for (const language of LANGUAGES) runs.push(await measure(language));
  const results = { date: new Date().toISOString(), machine: versions(), calls: CALLS, runs };
  await fsp.mkdir(path.dirname(OUT), { recursive: true });
  await fsp.writeFile(OUT, `${JSON.stringify(results, null, 2)}\n`);

  const [rust] = runs;
  const columns = [
    ['component', (r) => mb(r.bytes), (r) => r.bytes],
    ['load (compile, cold cache)', (r) => ms(r.load_ms), (r) => r.load_ms],
    ['first create', (r) => ms(r.first_ms), (r) => r.first_ms],
    ['create p50, over Socket.IO', (r) => ms(r.create.p50), (r) => r.create.p50],
    ['create p99', (r) => ms(r.create.p99), (r) => r.create.p99],
    ['create, inside the view', (r) => us(r.in_view_ms), (r) => r.in_view_ms],
    ['memory added to halo', (r) => mib(r.memory_bytes), (r) => Math.max(r.memory_bytes, 1)],
  ];
  console.log(`halo view languages benchmark — ${results.machine.halo}, node ${results.machine.node}, ${results.machine.cpu} (${results.machine.cores} cores${hasTaskset ? ', halo pinned to core 0, load to core 1' : ', not pinned: taskset missing'}); Todos, ${CALLS} sequential creates after ${WARM_UP} to warm up\n`);
  console.log(`| | ${runs.map((r) => r.language).join(' | ')} |`);
  console.log(`|---|${runs.map(() => '---:').join('|')}|`);
  for (const [name, show, value] of columns) {
    const cells = runs.map((r) => (r === rust ? show(r) : `${show(r)} (${times(value(r), value(rust))})`));
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
  console.log(`\nresults: ${path.relative(REPO, OUT)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
