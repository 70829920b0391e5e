// Starts a real `halo` server and connects clients to it, for the end-to-end
// tests next to this file. Every wait here is bounded.
//
// Environment:
//   HALO_BIN               the `halo` binary (required)
//   HALO_WASM_DIR          built plugins (default plugins/target/wasm32-wasip2/release)
//   HALO_ORIGINAL_SYNC_JS  halo 0.1.6's halo.sync.js, for the compatibility tests

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { beforeEach, afterEach } from 'node:test';

const require = createRequire(import.meta.url);
const { io } = require('socket.io-client');

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Where tests build view crates for wasm32-wasip2: CARGO_TARGET_DIR when set
 * (relative to the repository), else one folder under the OS temp folder,
 * shared between runs so only the first one compiles the SDK.
 */
export const VIEW_TARGET_DIR = process.env.CARGO_TARGET_DIR
  ? path.resolve(REPO, process.env.CARGO_TARGET_DIR)
  : path.join(os.tmpdir(), 'halo-views-target');
const SYNC_JS = path.join(REPO, 'static', 'halo.sync.js');

/** How long a server may take to load its plugins and start serving. */
const READY_TIMEOUT_MS = 30_000;
/** How long a request may wait for its ack. */
const ACK_TIMEOUT_MS = 5_000;
/** Grace period between SIGTERM and SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Temp dirs and live servers, cleaned up when the test process exits.
const tempDirs = new Set();
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  if (process.env.HALO_KEEP_TMP) return;
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new temp folder, removed when the test process exits (unless HALO_KEEP_TMP is set). */
export function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The halo binary under test (HALO_BIN, relative to the repository). */
export function haloBin() {
  const bin = process.env.HALO_BIN;
  if (!bin) {
    throw new Error(
      'HALO_BIN is not set: run `make test-e2e`, or build the host (cargo build --release -p halo) ' +
        'and run HALO_BIN=target/release/halo npm run test:e2e'
    );
  }
  return path.resolve(REPO, bin);
}

async function copyPlugins(names, dir) {
  const wasmDir = path.resolve(REPO, process.env.HALO_WASM_DIR || 'plugins/target/wasm32-wasip2/release');
  for (const name of names) {
    const file = path.join(wasmDir, `${name}.wasm`);
    if (!fs.existsSync(file)) {
      throw new Error(
        `plugin ${name} is not built: ${file} is missing ` +
          '(cargo build --target wasm32-wasip2 --release in plugins/, or set HALO_WASM_DIR)'
      );
    }
    await fsp.copyFile(file, path.join(dir, `${name}.wasm`));
  }
}

/**
 * Writes tenant folder `name` in `tenantsDir`: its plugins and, when given,
 * its tenant.toml text.
 */
export async function writeTenant(tenantsDir, name, { plugins = [], toml } = {}) {
  const dir = path.join(tenantsDir, name);
  await fsp.mkdir(path.join(dir, 'plugins'), { recursive: true });
  if (toml !== undefined) await fsp.writeFile(path.join(dir, 'tenant.toml'), toml);
  await copyPlugins(plugins, path.join(dir, 'plugins'));
  return dir;
}

/** Copies built plugin `name` into `dir` as `as` (default `<name>.wasm`). */
export async function copyPlugin(name, dir, as = `${name}.wasm`) {
  // Copied aside first, then moved into place in one step, as a deploy would.
  const aside = await tempDir('halo-plugin-');
  await copyPlugins([name], aside);
  await fsp.rename(path.join(aside, `${name}.wasm`), path.join(dir, as));
}

/**
 * Starts `halo serve` on a free port and waits until it serves
 * `/halo/halo.sync.js` and has logged `serving`.
 *
 * - `plugins`: plugins of the default tenant on `/`.
 * - `tenants`: `{name: {plugins, toml}}`, served with `--tenants`; without
 *   `plugins` too, nothing is served on `/`.
 * - `args`: more flags for `halo serve`.
 */
export async function startHalo({
  plugins = [],
  dataDir,
  tenants,
  args = [],
  command = ['serve'],
  cwd = REPO,
  env = {},
  readyTimeoutMs = READY_TIMEOUT_MS,
} = {}) {
  const bin = haloBin();
  const pluginsDir = await tempDir('halo-plugins-');
  await copyPlugins(plugins, pluginsDir);
  dataDir = dataDir || (await tempDir('halo-data-'));
  let tenantsDir;
  const serveArgs = [];
  if (tenants) {
    tenantsDir = await tempDir('halo-tenants-');
    for (const [name, tenant] of Object.entries(tenants)) await writeTenant(tenantsDir, name, tenant);
    serveArgs.push('--tenants', tenantsDir);
    if (plugins.length) serveArgs.push('--plugins', pluginsDir);
  } else {
    serveArgs.push('--plugins', pluginsDir);
  }
  serveArgs.push(...args);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  let child = null;
  let exited = null;
  let exit = null;

  async function launch() {
    child = spawn(bin, [...command, '--port', String(port), '--data', dataDir, ...serveArgs], {
      // The repo root by default: the host finds node_modules/socket.io-client there.
      cwd,
      env: { ...process.env, HALO_SOCKET_IO_CLIENT: path.join(REPO, 'node_modules/socket.io-client/dist/socket.io.min.js'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const me = child;
    children.add(me);
    exited = new Promise((resolve) => {
      me.on('exit', (code, signal) => {
        children.delete(me);
        exit = { code, signal };
        log += `[halo exited: ${signal || `code ${code}`}]\n`;
        resolve();
      });
      me.on('error', (err) => {
        log += `[halo failed to start: ${err.message}]\n`;
        resolve();
      });
    });
    me.stdout.setEncoding('utf8').on('data', (chunk) => (log += chunk));
    me.stderr.setEncoding('utf8').on('data', (chunk) => (log += chunk));
    await waitUntilServing(me);
  }

  async function waitUntilServing(me) {
    const deadline = Date.now() + readyTimeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (me.exitCode !== null || me.signalCode !== null || !children.has(me)) {
        throw new Error(`halo stopped before serving\n--- halo log ---\n${log}`);
      }
      try {
        const res = await fetch(`${url}/halo/halo.sync.js`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        last = `GET /halo/halo.sync.js answered ${res.status}`;
        if (res.status === 200 && /serving/.test(log)) return;
      } catch (err) {
        last = `GET /halo/halo.sync.js failed: ${err.cause?.code || err.message}`;
      }
      await sleep(100);
    }
    await stop();
    throw new Error(`halo was not serving after ${readyTimeoutMs} ms (${last})\n--- halo log ---\n${log}`);
  }

  async function stop() {
    if (!child || !children.has(child)) return;
    const me = child;
    me.kill('SIGTERM');
    const killed = await Promise.race([exited.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
    if (killed) {
      log += `[halo ignored SIGTERM for ${STOP_TIMEOUT_MS} ms: SIGKILL]\n`;
      me.kill('SIGKILL');
      await exited;
    }
  }

  await launch();
  return {
    url,
    port,
    dataDir,
    pluginsDir,
    tenantsDir,
    stop,
    /** Stops the server and starts it again on the same port, plugins and data. */
    async restart() {
      await stop();
      await launch();
    },
    /** Everything the server printed so far. */
    logs: () => log,
    /** Sends `signal` to the server process. */
    kill: (signal) => child.kill(signal),
    /** Resolves with `{ code, signal }` once the server process has exited. */
    async exited() {
      await exited;
      return exit;
    },
  };
}

/**
 * Prints a server's log output when a test fails: only the part written while
 * that test ran. Call once at the top level of a test file.
 */
export function printLogsOnFailure(getServer) {
  let mark = 0;
  beforeEach(() => {
    mark = getServer()?.logs().length ?? 0;
  });
  afterEach((t) => {
    const server = getServer();
    if (!t.passed && server) {
      process.stderr.write(`\n--- halo log during "${t.name}" ---\n${server.logs().slice(mark)}--- end ---\n`);
    }
  });
}

// --- raw Socket.IO clients ---

const sockets = new Set();

/**
 * A socket.io-client 4 socket to `url`, resolved once connected. Rejects when
 * the server refuses the connection (the error carries `data`) or on timeout.
 */
export function connect(url, { auth, timeout = ACK_TIMEOUT_MS, ...options } = {}) {
  const socket = io(url, { transports: ['websocket'], forceNew: true, auth, ...options });
  sockets.add(socket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.disconnect();
      reject(new Error(`could not connect to ${url} within ${timeout} ms`));
    }, timeout);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('connect_error', onError);
      resolve(socket);
    });
    const onError = (err) => {
      // Without `active` the server refused us; otherwise the client retries.
      if (socket.active) return;
      clearTimeout(timer);
      reject(err);
    };
    socket.on('connect_error', onError);
  });
}

/** Closes every socket `connect` opened. */
export function disconnectAll() {
  for (const socket of sockets) socket.disconnect();
  sockets.clear();
}

/**
 * Emits `event` with `data` (omitted when undefined) and resolves to the ack
 * as `{err, result}`; rejects if no ack comes within `ms`.
 */
export function call(socket, event, data, ms = ACK_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event} within ${ms} ms`)), ms);
    const ack = (err, result) => {
      clearTimeout(timer);
      resolve({ err, result });
    };
    if (data === undefined) socket.emit(event, ack);
    else socket.emit(event, data, ack);
  });
}

/** Like `call`, but fails unless the ack reports success; resolves to the result. */
export async function ok(socket, event, data) {
  const { err, result } = await call(socket, event, data);
  if (err) throw new Error(`${event} failed: ${JSON.stringify(err)}`);
  return result;
}

/** Resolves to the payload of the next `name` event, or rejects after `ms`. */
export function nextEvent(socket, name, ms = 2000) {
  return nextEventWhere(socket, name, () => true, ms);
}

/**
 * Resolves to the payload of the next `name` event that `match` accepts, or
 * rejects after `ms`.
 *
 * Also how a test proves that something did not come: `record` it, then
 * wait here for a push of a later commit to the same connection. Pushes
 * reach a connection in commit order, so anything an earlier commit sent
 * it has arrived by then, and no timer decides absence.
 */
export function nextEventWhere(socket, name, match, ms = 2000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(name, handler);
      reject(new Error(`no ${name} event within ${ms} ms`));
    }, ms);
    const handler = (payload) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      socket.off(name, handler);
      resolve(payload);
    };
    socket.on(name, handler);
  });
}

/** Records every `name` event from now on: `{payloads, stop()}`. */
export function record(socket, name) {
  const payloads = [];
  const handler = (payload) => payloads.push(payload);
  socket.on(name, handler);
  return { payloads, stop: () => socket.off(name, handler) };
}

/** Resolves like `promise`, or rejects when it takes longer than `ms`. */
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Retries `check` (which throws until satisfied) for up to `ms`. */
export async function eventually(check, ms = 3000, step = 25) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
    }
    await sleep(step);
  }
}

// --- Backbone clients ---

function freshRequire(id) {
  delete require.cache[require.resolve(id)];
}

/** A Backbone and underscore of their own, not shared with other clients. */
export function freshBackbone() {
  freshRequire('underscore');
  freshRequire('backbone');
  const Backbone = require('backbone');
  const _ = require('underscore');
  return { Backbone, _ };
}

/** Where the original halo 0.1.6 halo.sync.js is, or undefined. */
export const ORIGINAL_SYNC_JS = process.env.HALO_ORIGINAL_SYNC_JS;
export const ORIGINAL_SKIP =
  !ORIGINAL_SYNC_JS && 'HALO_ORIGINAL_SYNC_JS is not set (the Makefile extracts it from `npm pack halo@0.1.6`)';

/**
 * A browser-like Backbone client: its own Backbone instance extended by
 * `static/halo.sync.js` (or, with `sync: 'original'`, by halo 0.1.6's file)
 * and `Backbone.socket` connected to `url`. Several can run side by side.
 */
export async function backboneClient(url, { auth, sync = 'halo' } = {}) {
  let Backbone;
  if (sync === 'original') {
    if (!ORIGINAL_SYNC_JS) throw new Error(ORIGINAL_SKIP);
    if (!fs.existsSync(ORIGINAL_SYNC_JS)) {
      throw new Error(`HALO_ORIGINAL_SYNC_JS names ${ORIGINAL_SYNC_JS}, which does not exist (run \`make setup\`)`);
    }
    const source = await fsp.readFile(ORIGINAL_SYNC_JS, 'utf8');
    const fresh = freshBackbone();
    // The original picks browser globals when `window` exists and `require` does not.
    const context = { Backbone: fresh.Backbone, _: fresh._ };
    context.window = context;
    vm.createContext(context);
    vm.runInContext(source, context, { filename: ORIGINAL_SYNC_JS });
    Backbone = fresh.Backbone;
  } else {
    freshRequire('underscore');
    freshRequire('backbone');
    freshRequire(SYNC_JS);
    Backbone = require(SYNC_JS);
    if (!Backbone || typeof Backbone.Model?.prototype.ioServerBind !== 'function') {
      throw new Error('static/halo.sync.js did not export the Backbone it extended');
    }
  }
  // Quick reconnects: the restart tests wait for them.
  const socket = await connect(url, { auth, reconnectionDelay: 100, reconnectionDelayMax: 1000 });
  Backbone.socket = socket;
  return { Backbone, socket, close: () => socket.disconnect() };
}

/**
 * Runs a Backbone call that takes `{success, error}` options and resolves to
 * `{ok: true, response}` or `{ok: false, error}`; rejects after `ms` when
 * neither callback ran.
 *
 *   const saved = await settle((o) => model.save({done: true}, o));
 */
export function settle(invoke, ms = ACK_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`neither success nor error within ${ms} ms`)), ms);
    invoke({
      success: (obj, response) => {
        clearTimeout(timer);
        resolve({ ok: true, response });
      },
      error: (obj, error) => {
        clearTimeout(timer);
        resolve({ ok: false, error });
      },
    });
  });
}

/** Like `settle`, but fails unless the call succeeded. */
export async function succeed(invoke, what = 'Backbone call') {
  const outcome = await settle(invoke);
  if (!outcome.ok) throw new Error(`${what} failed: ${JSON.stringify(outcome.error)}`);
  return outcome.response;
}

/**
 * Tries to connect once, without retries: resolves to null when connected
 * (the socket is closed again) or to the `connect_error` error.
 */
export function attempt(url, { auth, timeout = ACK_TIMEOUT_MS } = {}) {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, auth });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`neither connected to nor refused by ${url} within ${timeout} ms`));
    }, timeout);
    socket.on('connect', () => {
      clearTimeout(timer);
      socket.close();
      resolve(null);
    });
    socket.on('connect_error', (err) => {
      clearTimeout(timer);
      socket.close();
      resolve(err);
    });
  });
}
