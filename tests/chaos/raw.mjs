// Helpers for the chaos and abuse tests: raw Engine.IO clients over a
// websocket or long-polling (to send what socket.io-client never would),
// and the halo process's memory, file descriptors and threads from /proc.
// Every wait here is bounded, and ends on an event, not on a sleep.

import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

/** How long a raw client waits for any one thing. */
const WAIT_MS = 10_000;

/**
 * A raw Engine.IO v4 websocket to `url` (http://...), opened and, unless
 * `join` is false, joined to namespace `ns`. Messages are kept in order;
 * `next(match)` resolves with the first unread one `match` accepts.
 * Pings are answered unless `pong` is false.
 */
export async function rawSocket(url, { ns = '/', join = true, pong = true } = {}) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const inbox = [];
  const waiters = [];
  const closed = new Promise((resolve) => {
    ws.on('close', (code) => resolve({ code }));
    ws.on('error', () => {});
  });
  ws.on('message', (data, binary) => {
    const text = binary ? data : data.toString();
    if (pong && text === '2') {
      ws.send('3');
      return;
    }
    inbox.push(text);
    for (const waiter of [...waiters]) waiter();
  });
  const raw = {
    ws,
    closed,
    inbox,
    send: (text) => ws.send(text),
    /** The first unread message `match` accepts (a string prefix or a function). */
    next(match, ms = WAIT_MS) {
      const test = typeof match === 'function' ? match : (m) => typeof m === 'string' && m.startsWith(match);
      return new Promise((resolve, reject) => {
        const look = () => {
          const i = inbox.findIndex(test);
          if (i < 0) return false;
          const [found] = inbox.splice(i, 1);
          waiters.splice(waiters.indexOf(look), 1);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(look), 1);
          reject(new Error(`no message matching ${match} within ${ms} ms; got ${JSON.stringify(inbox.slice(-5))}`));
        }, ms);
        waiters.push(look);
        look();
      });
    },
    /** Resolves with the close once the server has closed the connection, or rejects after `ms`. */
    whenClosed(ms = WAIT_MS) {
      return within(closed, ms, 'the server did not close the connection');
    },
  };
  await within(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }), WAIT_MS, 'websocket did not open');
  await raw.next('0');
  if (join) {
    const prefix = ns === '/' ? '' : `${ns},`;
    raw.send(`40${prefix}`);
    const answer = await raw.next((m) => typeof m === 'string' && (m.startsWith(`40${prefix}`) || m.startsWith(`44${prefix}`)));
    if (answer.startsWith('44')) throw new Error(`namespace ${ns} refused: ${answer}`);
  }
  return raw;
}

/** Sends event `[event, data]` with ack id `id` on namespace `/`, and resolves to the ack's `[err, result]`. */
export async function rawCall(raw, id, event, data) {
  raw.send(`42${id}${JSON.stringify([event, data])}`);
  const answer = await raw.next(`43${id}[`);
  return JSON.parse(answer.slice(`43${id}`.length));
}

/** A long-polling Engine.IO session on `url`: `{sid, post(body), get()}`. */
export async function pollingSession(url) {
  const base = `${url}/socket.io/?EIO=4&transport=polling`;
  const open = await fetch(base).then((r) => r.text());
  const { sid } = JSON.parse(open.slice(1));
  const at = `${base}&sid=${sid}`;
  return {
    sid,
    post: (body) => fetch(at, { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' } }),
    get: () => fetch(at).then(async (r) => ({ status: r.status, text: await r.text() })),
  };
}

/** Resolves like `promise`, or rejects when it takes longer than `ms`. */
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} (not within ${ms} ms)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The pid of the halo serving on `port`. */
export function haloPid(port) {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = args.indexOf('--port');
      if (args.includes('serve') && at >= 0 && args[at + 1] === String(port)) return Number(entry);
    } catch {
      // A process that ended meanwhile.
    }
  }
  throw new Error(`no halo serving on port ${port}`);
}

/** Resident memory (bytes), open file descriptors and threads of process `pid`. */
export function usage(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return {
    rss: field('VmRSS') * 1024,
    threads: field('Threads'),
    fds: fs.readdirSync(`/proc/${pid}/fd`).length,
  };
}

/** `halo_connections` summed over tenants, from /metrics. */
export async function connections(url) {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^halo_connections(?:\{[^}]*\})? (\d+)/.exec(line);
    if (m) total += Number(m[1]);
  }
  return total;
}

/** Polls `check` (which throws until satisfied) until it passes or `ms` passed. */
export async function until(check, ms = WAIT_MS, step = 50) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, step));
  }
}
