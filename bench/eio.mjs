// A minimal Socket.IO v5 client speaking Engine.IO v4 over a websocket
// directly: no Socket.IO client library in the measured path, so the figures
// are the server's, not a client library's.

import WebSocket from 'ws';

/** How long an emit waits for its ack. */
const ACK_TIMEOUT = 120_000;

/**
 * Connects to namespace `ns` of the Socket.IO server at `base`
 * (`http://host:port`), with handshake `auth`. Resolves once the namespace
 * accepted the connection; rejects with the server's reason otherwise.
 */
export function connect(base, ns = '/', auth, { timeout = 10_000 } = {}) {
  const url = `${base.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
  const prefix = ns === '/' ? '' : `${ns},`;
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const acks = new Map();
  const listeners = new Map();
  let nextAck = 0;
  let closed = false;

  const socket = {
    /**
     * Emits `event` with `data` and resolves to `[err, result]`; rejects if
     * no ack comes within `ACK_TIMEOUT` ms, so a lost ack fails the scenario
     * instead of holding the run for ever.
     */
    emit(event, data) {
      const id = nextAck++;
      return new Promise((resolve, reject) => {
        if (closed) return reject(new Error('socket closed'));
        const timer = setTimeout(() => {
          acks.delete(id);
          reject(new Error(`no ack for ${event} within ${ACK_TIMEOUT} ms`));
        }, ACK_TIMEOUT);
        acks.set(id, (reply) => {
          clearTimeout(timer);
          resolve(reply);
        });
        ws.send(`42${prefix}${id}${JSON.stringify([event, data])}`);
      });
    },
    /** Calls `fn(payload)` for every `event` pushed by the server. */
    on(event, fn) {
      listeners.set(event, fn);
    },
    close() {
      closed = true;
      ws.close();
    },
    /** Whether the connection is closed (by either side). */
    get closed() {
      return closed;
    },
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no connection to ${ns} within ${timeout} ms`));
    }, timeout);
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('close', () => {
      closed = true;
      for (const resolveAck of acks.values()) resolveAck([{ code: 'closed' }, null]);
      acks.clear();
    });
    ws.on('message', (raw) => {
      const text = raw.toString();
      if (text[0] === '0') {
        ws.send(`40${prefix}${auth ? JSON.stringify(auth) : ''}`);
        return;
      }
      if (text === '2') {
        ws.send('3');
        return;
      }
      if (text[0] !== '4') return;
      const type = text[1];
      let rest = text.slice(2);
      if (rest.startsWith('/')) rest = rest.slice(rest.indexOf(',') + 1);
      if (type === '0') {
        clearTimeout(timer);
        resolve(socket);
      } else if (type === '4') {
        clearTimeout(timer);
        ws.close();
        reject(new Error(`refused: ${JSON.parse(rest).message}`));
      } else if (type === '3') {
        const digits = /^\d+/.exec(rest)[0];
        const resolveAck = acks.get(Number(digits));
        acks.delete(Number(digits));
        resolveAck?.(JSON.parse(rest.slice(digits.length)));
      } else if (type === '2') {
        const [event, payload] = JSON.parse(rest.replace(/^\d+/, ''));
        listeners.get(event)?.(payload);
      }
    });
  });
}
