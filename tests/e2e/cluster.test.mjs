// halo as a cluster: three nodes sharing a PostgreSQL store and a Redis
// feed, with clients on every node, and nginx in front of them with the
// configuration the docs give. Real PostgreSQL, Redis and nginx; each test
// makes its own database and cluster name (cluster.mjs).

import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { connect, disconnectAll, call, ok, within, eventually } from './harness.mjs';
import { startCluster, startNginx, privateRedis } from './cluster.mjs';
import { connections } from '../chaos/raw.mjs';

const running = [];
const keep = (...things) => {
  running.push(...things);
  return things[0];
};
afterEach(async (t) => {
  disconnectAll();
  while (running.length) {
    const thing = running.pop();
    if (!t.passed && thing.logs) process.stderr.write(`\n--- halo log ---\n${thing.logs().slice(-20_000)}\n--- end ---\n`);
    await thing.stop();
  }
});
after(() => disconnectAll());

async function cluster(count, options = {}) {
  const made = await startCluster(count, { plugins: ['my_models', 'notes'], ...options });
  keep(...made.nodes);
  return made;
}

/**
 * A subscriber of `view`: connected and listed, recording its pushes by kind
 * (`serveradd` from `V:serveradd`, `serverchange` from `V/<id>:serverchange`).
 */
async function subscriber(url, { view = 'MyModels', ...options } = {}) {
  const socket = await connect(url, options);
  const pushes = { serveradd: [], serverchange: [] };
  socket.onAny((event, payload) => {
    const [target, kind] = event.split(':');
    if (kind in pushes && (target === view || target.startsWith(`${view}/`))) pushes[kind].push(payload);
  });
  await ok(socket, `${view}:list`, []);
  return { socket, pushes };
}

/** Waits until `check()` holds, re-checking on every push `socket` gets. */
function untilPushes(socket, check, what, ms = 30_000) {
  return within(
    new Promise((resolve) => {
      const look = () => {
        if (!check()) return false;
        socket.offAny(later);
        resolve();
        return true;
      };
      // Any-listeners run before the event's own (the recorders): look
      // once those have run.
      const later = () => setImmediate(look);
      if (!look()) socket.onAny(later);
    }),
    ms,
    what
  );
}

/** Runs `work(i)` for i in 0..n with `inFlight` of them at once. */
async function pipelined(n, inFlight, work) {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await work(next++);
    })
  );
}

test('a write on any node reaches every subscriber on every node once, in commit order, and no ack is ahead of an older change', async () => {
  const { nodes } = await cluster(3);
  const { id } = await ok(await connect(nodes[0].url), 'MyModels:create', { someProperty: 'start' });
  const watchers = await Promise.all(nodes.map((node) => subscriber(node.url)));
  const writers = await Promise.all(nodes.map((node) => subscriber(node.url)));
  const PER_WRITER = 30;
  // For every ack: how many pushes its writer had received by then.
  const seenAtAck = writers.map(() => new Map());
  await Promise.all(
    writers.map((writer, w) =>
      pipelined(PER_WRITER, 4, async (i) => {
        const tag = `w${w}:${i}`;
        const model = await ok(writer.socket, 'MyModels:update', { id, someProperty: tag });
        assert.equal(model.someProperty, tag, 'the ack carries the write');
        seenAtAck[w].set(tag, writer.pushes.serverchange.length);
      })
    )
  );
  const total = writers.length * PER_WRITER;
  const tagsOf = (pushes) => pushes.map((model) => model.someProperty);
  for (const [n, watcher] of watchers.entries()) {
    await untilPushes(watcher.socket, () => watcher.pushes.serverchange.length >= total, `node${n + 1}'s watcher got every change`);
  }
  const order = tagsOf(watchers[0].pushes.serverchange);
  assert.equal(new Set(order).size, total, 'every write pushed once');
  for (const [n, watcher] of watchers.entries()) {
    assert.deepEqual(tagsOf(watcher.pushes.serverchange), order, `node${n + 1}'s watcher saw the same commit order`);
  }
  // Each writer's own writes, in its order, are in the commit order too
  // (pipelined, they take effect in arrival order).
  for (let w = 0; w < writers.length; w++) {
    const mine = order.filter((tag) => tag.startsWith(`w${w}:`));
    assert.deepEqual(mine, Array.from({ length: PER_WRITER }, (_, i) => `w${w}:${i}`), `writer ${w} in arrival order`);
  }
  for (const [w, writer] of writers.entries()) {
    const others = order.filter((tag) => !tag.startsWith(`w${w}:`));
    await untilPushes(writer.socket, () => writer.pushes.serverchange.length >= others.length, `writer ${w} got the others' changes`);
    assert.deepEqual(tagsOf(writer.pushes.serverchange), others, `writer ${w} got every other change, in commit order, and none of its own`);
    for (const [tag, seen] of seenAtAck[w]) {
      const before = order.slice(0, order.indexOf(tag)).filter((other) => !other.startsWith(`w${w}:`)).length;
      assert.ok(seen >= before, `the ack of ${tag} came after the ${before} older changes (had ${seen})`);
    }
  }
});

test("notes: each user's view holds across nodes, and nobody hears of a note not shared with them", async () => {
  const { nodes } = await cluster(3);
  const alice = await subscriber(nodes[0].url, { view: 'Notes', auth: { user: 'alice' } });
  const bob = await subscriber(nodes[1].url, { view: 'Notes', auth: { user: 'bob' } });
  const carol = await subscriber(nodes[2].url, { view: 'Notes', auth: { user: 'carol' } });
  const forBob = await ok(alice.socket, 'Notes:create', { text: 'for bob', sharedWith: ['bob'] });
  const forCarol = await ok(alice.socket, 'Notes:create', { text: 'for carol', sharedWith: ['carol'] });
  await untilPushes(bob.socket, () => bob.pushes.serveradd.length >= 1, 'bob heard of his note');
  // Commit order per connection: once carol hears of her note, she would
  // have heard of bob's, which came first.
  await untilPushes(carol.socket, () => carol.pushes.serveradd.length >= 1, 'carol heard of her note');
  assert.deepEqual(bob.pushes.serveradd.flat().map((n) => n.id), [forBob.id]);
  assert.deepEqual(carol.pushes.serveradd.flat().map((n) => n.id), [forCarol.id]);
  // An edit reaches only those who may see the note; bob may not edit it.
  await ok(alice.socket, 'Notes:update', { id: forBob.id, text: 'for bob, edited' });
  const refused = await call(bob.socket, 'Notes:update', { id: forBob.id, text: 'bob was here' });
  assert.ok(refused.err, 'bob may not change alice note');
  await ok(alice.socket, 'Notes:update', { id: forCarol.id, text: 'for carol, edited' });
  await untilPushes(carol.socket, () => carol.pushes.serverchange.length >= 1, 'carol heard of her edit');
  await untilPushes(bob.socket, () => bob.pushes.serverchange.length >= 1, 'bob heard of his edit');
  assert.deepEqual(bob.pushes.serverchange.flat().map((n) => [n.id, n.text]), [[forBob.id, 'for bob, edited']]);
  assert.deepEqual(carol.pushes.serverchange.flat().map((n) => [n.id, n.text]), [[forCarol.id, 'for carol, edited']]);
  // Lists on other nodes are rendered for their reader.
  const bobList = await ok(bob.socket, 'Notes:list', []);
  assert.deepEqual(bobList.map((n) => n.id), [forBob.id]);
});

test('a write retried on another node, after a restart, or twice at once is applied once', async () => {
  const { nodes } = await cluster(3);
  const auth = { user: 'retrier' };
  const [one, two, three] = await Promise.all(nodes.map((node) => connect(node.url, { auth })));
  const first = await ok(one, 'MyModels:create', { someProperty: 'once', $op: 'retry:1' });
  const again = await ok(two, 'MyModels:create', { someProperty: 'once', $op: 'retry:1' });
  assert.equal(again.id, first.id, 'the retry on node2 got the first answer');
  // Both at once, on two nodes: one applies it, the other gets its answer.
  const [a, b] = await Promise.all([
    ok(two, 'MyModels:create', { someProperty: 'twice', $op: 'retry:2' }),
    ok(three, 'MyModels:create', { someProperty: 'twice', $op: 'retry:2' }),
  ]);
  assert.equal(a.id, b.id, 'concurrent retries on two nodes got one answer');
  // node1 restarts: the id is in the store, not in its memory.
  await nodes[0].restart();
  const restarted = await connect(nodes[0].url, { auth });
  const afterRestart = await ok(restarted, 'MyModels:create', { someProperty: 'once', $op: 'retry:1' });
  assert.equal(afterRestart.id, first.id, 'the retry after a restart got the first answer');
  const all = await ok(restarted, 'MyModels:list', []);
  assert.equal(all.filter((m) => m.someProperty === 'once').length, 1);
  assert.equal(all.filter((m) => m.someProperty === 'twice').length, 1);
});

test('Redis stops for a while under load: every node catches up from the log, nothing missed or duplicated', async () => {
  const redis = keep(await privateRedis());
  const { nodes } = await cluster(3, { redis: redis.url });
  const watchers = await Promise.all(nodes.map((node) => subscriber(node.url)));
  const writer = await connect(nodes[0].url);
  const acked = [];
  const write = async (i) => acked.push((await ok(writer, 'MyModels:create', { someProperty: `r${i}` })).someProperty);
  await pipelined(20, 4, (i) => write(i));
  await redis.stop();
  await pipelined(30, 4, (i) => write(20 + i));
  await redis.start();
  await pipelined(20, 4, (i) => write(50 + i));
  for (const [n, watcher] of watchers.entries()) {
    const adds = () => watcher.pushes.serveradd.flat().map((m) => m.someProperty);
    await untilPushes(watcher.socket, () => adds().length >= acked.length, `node${n + 1} caught up`);
    assert.deepEqual(adds(), acked, `node${n + 1}'s subscriber got every write once, in commit order`);
  }
});

test('behind nginx: long-polling clients stick to a node, clients spread over the nodes, pushes reach all', async () => {
  const { nodes } = await cluster(3);
  const nginx = keep(await startNginx(nodes));
  const clients = [];
  for (let i = 0; i < 9; i++) {
    clients.push(await subscriber(nginx.url, { transports: ['polling'], withCredentials: true }));
  }
  const perNode = await Promise.all(nodes.map((node) => connections(node.url)));
  assert.equal(perNode.reduce((a, b) => a + b, 0), 9, `every client on one node (${perNode})`);
  assert.ok(perNode.filter((n) => n > 0).length >= 2, `clients spread over the nodes (${perNode})`);
  const created = await ok(clients[0].socket, 'MyModels:create', { someProperty: 'through nginx' });
  for (const client of clients.slice(1)) {
    await untilPushes(client.socket, () => client.pushes.serveradd.length >= 1, 'the push came through nginx');
    assert.deepEqual(client.pushes.serveradd.flat().map((m) => m.id), [created.id]);
  }
  // Upgraded to WebSocket through nginx, too.
  const upgraded = await subscriber(nginx.url, { transports: ['polling', 'websocket'], withCredentials: true });
  await ok(upgraded.socket, 'MyModels:list', []);
  await eventually(() => assert.equal(upgraded.socket.io.engine.transport.name, 'websocket'), 10_000);
});

test("a write that keeps losing to another node's nonstop writes holds the tenant and goes through; no increment is lost", async () => {
  const { nodes } = await cluster(2, { plugins: ['counter'] });
  const counter = await ok(await connect(nodes[0].url), 'Counters:create', {});
  const increment = async (socket) => {
    const { err, result } = await call(socket, 'Counters:increment', { id: counter.id });
    assert.equal(err, null, `every increment is acked: ${JSON.stringify(err)}`);
    return result.value;
  };
  // Node 2 increments nonstop, 4 clients with 4 in flight each, until node
  // 1's client is done: each of its commits may come between one of node
  // 1's reads and its commit.
  const busy = await Promise.all(Array.from({ length: 4 }, () => connect(nodes[1].url)));
  const values = [];
  let done = false;
  const load = Promise.all(
    busy.flatMap((socket) =>
      Array.from({ length: 4 }, async () => {
        while (!done) values.push(await increment(socket));
      })
    )
  );
  const lone = await connect(nodes[0].url);
  try {
    // Until node 1 has run some write again and held the tenant for it.
    for (let i = 0; i < 400 && !(i >= 20 && (await counters(nodes[0])).holds > 0); i++) {
      values.push(await increment(lone));
    }
  } finally {
    done = true;
    await load;
  }
  const { again, holds } = await counters(nodes[0]);
  assert.ok(again > 0 && holds > 0, `node 1 lost runs to node 2 (${again}) and held the tenant (${holds} times)`);
  const stored = await ok(lone, 'Counters:read', { id: counter.id });
  assert.equal(stored.value, values.length, 'the counter counts every acked increment');
  assert.deepEqual([...values].sort((a, b) => a - b), Array.from({ length: values.length }, (_, i) => i + 1), 'each acked value once');
});

/** A node's count of writes run again, and of holds it took on a tenant. */
async function counters(node) {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const read = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { again: read('halo_writes_run_again_total'), holds: read('halo_tenant_holds_total') };
}

test('kill -9 of one node under load: its clients resync on another, nobody else misses a push, no acked write is lost', async () => {
  const { nodes } = await cluster(3);
  const nginx = keep(await startNginx(nodes));
  const clients = [];
  for (let i = 0; i < 9; i++) {
    clients.push(await subscriber(nginx.url, { withCredentials: true, reconnectionDelay: 50, reconnectionDelayMax: 200 }));
  }
  const perNode = await Promise.all(nodes.map((node) => connections(node.url)));
  // The victim: the node other than node1 holding most clients.
  const victim = perNode[1] >= perNode[2] ? 1 : 2;
  assert.ok(perNode[victim] > 0, `some client is on node${victim + 1} (${perNode})`);
  for (const client of clients) {
    client.socket.once('disconnect', () => (client.dropped = true));
  }
  const writer = await connect(nodes[0].url);
  const doomed = await connect(nodes[victim].url);
  const acked = [];
  const doomedAcked = [];
  const load = pipelined(60, 4, async (i) => {
    if (i === 20) {
      nodes[victim].kill('SIGKILL');
    }
    acked.push((await ok(writer, 'MyModels:create', { someProperty: `k${i}` })).id);
  });
  // The victim's own writer writes until it dies; what it got acks for must survive.
  const doomedLoad = (async () => {
    for (let i = 0; ; i++) {
      const { err, result } = await call(doomed, 'MyModels:create', { someProperty: `d${i}` }).catch(() => ({ err: 'gone' }));
      if (err) break;
      doomedAcked.push(result.id);
    }
  })();
  await Promise.all([load, doomedLoad]);
  await nodes[victim].exited();
  const survivors = nodes.filter((_, n) => n !== victim);
  // Exactly the victim's clients were dropped.
  await eventually(() => assert.equal(clients.filter((c) => c.dropped).length, perNode[victim]), 30_000, 50);
  const onVictim = clients.filter((c) => c.dropped);
  for (const client of onVictim) {
    if (!client.socket.connected) await within(new Promise((resolve) => client.socket.once('connect', resolve)), 30_000, 'reconnected');
    const models = await ok(client.socket, 'MyModels:list', []);
    const ids = new Set(models.map((m) => m.id));
    for (const id of [...acked, ...doomedAcked]) assert.ok(ids.has(id), `the resync has acked write ${id}`);
  }
  const live = clients.filter((client) => !client.dropped);
  for (const client of live) {
    await untilPushes(client.socket, () => client.pushes.serveradd.flat().length >= acked.length + doomedAcked.length, 'a survivor got every push');
    const ids = client.pushes.serveradd.flat().map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, 'no push twice');
    for (const id of [...acked, ...doomedAcked]) assert.ok(ids.includes(id), `a survivor's client got the push of ${id}`);
  }
  const stored = await ok(await connect(survivors[0].url), 'MyModels:list', []);
  const storedIds = new Set(stored.map((m) => m.id));
  for (const id of [...acked, ...doomedAcked]) assert.ok(storedIds.has(id), `acked write ${id} is stored`);
});

test("a tenant's connection limit counts on every node, and /admin/cluster shows each node and the totals", async () => {
  const ADMIN = 'cluster-admin-token';
  const { nodes } = await cluster(3, {
    plugins: [],
    tenants: { acme: { plugins: ['my_models'], toml: '[limits]\nconnections = 2\n' } },
    args: ['--admin-token', ADMIN],
  });
  await connect(`${nodes[0].url}/acme`);
  await connect(`${nodes[1].url}/acme`);
  const report = async (node) =>
    (await fetch(`${node.url}/admin/cluster`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
  // Reports travel about once a second: wait until node3 counts both.
  await eventually(async () => assert.equal((await report(nodes[2])).connections, 2), 15_000, 100);
  const refused = await connect(`${nodes[2].url}/acme`).then(
    (socket) => (socket.disconnect(), null),
    (err) => err
  );
  assert.match(refused?.message ?? 'connected', /^limit_exceeded: .*2 connections/);
  const seen = await report(nodes[2]);
  assert.equal(seen.node, 'node3');
  assert.deepEqual(seen.nodes.map((n) => n.node).sort(), ['node1', 'node2', 'node3']);
  assert.equal(seen.nodes.find((n) => n.node === 'node1').tenants.acme, 1);
  const unauthorized = await fetch(`${nodes[0].url}/admin/cluster`);
  assert.equal(unauthorized.status, 401);
});
