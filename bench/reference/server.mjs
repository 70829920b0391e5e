// The reference for halo's benchmarks: a socket.io 4 server doing the same
// job as halo's `MyModels` view, in memory (a Map, so nothing is durable).
// Rooms per model and per view; pushes skip the sender.
//
// With `--durable FILE` it is what a Node developer adds for durable writes:
// each write is committed to SQLite (better-sqlite3, WAL, synchronous=FULL)
// before its ack.
//
//   node bench/reference/server.mjs <port> [--durable FILE]

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Server } from 'socket.io';

const port = Number(process.argv[2] || 3100);
const durableAt = process.argv.indexOf('--durable');
const models = new Map();

/** Saves a model before its ack, when durable; a no-op in memory. */
let save = () => {};
if (durableAt > 0) {
  const Database = createRequire(import.meta.url)('better-sqlite3');
  const db = new Database(process.argv[durableAt + 1]);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS models (id TEXT PRIMARY KEY, body TEXT NOT NULL)');
  const put = db.prepare('INSERT OR REPLACE INTO models (id, body) VALUES (?, ?)');
  save = (model) => put.run(model.id, JSON.stringify(model));
}
const DEFAULTS = { someProperty: 'a default value' };

const server = http.createServer();
const io = new Server(server, { serveClient: false, maxHttpBufferSize: 1e6 });

io.on('connection', (socket) => {
  socket.on('MyModels:create', (data, ack) => {
    const model = { ...DEFAULTS, ...(data || {}), id: randomUUID() };
    save(model);
    models.set(model.id, model);
    socket.join(`MyModels/${model.id}`);
    socket.to('MyModels').emit('MyModels:serveradd', [model]);
    ack?.(null, model);
  });
  socket.on('MyModels:read', (data, ack) => {
    const model = models.get(data?.id);
    if (!model) return ack?.({ code: 'not_found', message: 'no such model' }, null);
    socket.join(`MyModels/${model.id}`);
    ack?.(null, model);
  });
  socket.on('MyModels:list', (_data, ack) => {
    socket.join('MyModels');
    ack?.(null, [...models.values()]);
  });
  socket.on('MyModels:update', (data, ack) => {
    const model = models.get(data?.id);
    if (!model) return ack?.({ code: 'not_found', message: 'no such model' }, null);
    // Only `someProperty` may change, as in halo's MyModels view.
    if ('someProperty' in data) model.someProperty = data.someProperty;
    save(model);
    socket
      .to([`MyModels/${model.id}`, 'MyModels'])
      .emit(`MyModels/${model.id}:serverchange`, { id: model.id, someProperty: model.someProperty });
    ack?.(null, model);
  });
});

server.listen(port, '127.0.0.1', () => {
  console.error(`serving on http://127.0.0.1:${port}`);
});
process.on('SIGTERM', () => process.exit(0));
