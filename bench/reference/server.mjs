// The reference for halo's benchmarks: a socket.io 4 server doing the same
// job as halo's `MyModels` view, in memory (a Map, so nothing is durable).
// Rooms per model and per view; pushes skip the sender.
//
//   node bench/reference/server.mjs <port>

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Server } from 'socket.io';

const port = Number(process.argv[2] || 3100);
const models = new Map();
const DEFAULTS = { someProperty: 'a default value' };

const server = http.createServer();
const io = new Server(server, { serveClient: false, maxHttpBufferSize: 1e6 });

io.on('connection', (socket) => {
  socket.on('MyModels:create', (data, ack) => {
    const model = { ...DEFAULTS, ...(data || {}), id: randomUUID() };
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
