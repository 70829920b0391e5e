// The results of bench/cluster.mjs: the figures against their targets (each
// a ratio or a difference to a reference measured in the same run), the
// phases in detail, and the projection of how many nodes a workload needs.
//
//   node bench/cluster-report.mjs [bench/results/cluster.json]   (rewrites cluster.md beside it)

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt } from './report.mjs';

const ratioOf = (a, b) => (a === null || b === null || a === undefined || b === undefined || b === 0 ? null : a / b);
const diffOf = (a, b) => (a === null || b === null || a === undefined || b === undefined ? null : a - b);
const PHASES = ['warmup', 'commit', 'burst', 'paced'];
const sumOf = (side, key) => PHASES.reduce((sum, name) => sum + (side?.phases?.[name]?.[key] ?? 0), 0);

/** The headline figures, each against its target where it has one. */
export function clusterFigures(results) {
  const c = results.cluster;
  const r = results.reference;
  const cb = c.phases.burst;
  const rb = r.phases.burst;
  const cp = c.phases.paced;
  const rp = r.phases.paced;
  const figures = {
    cpu_per_push_burst_ratio: ratioOf(cb.cpu_per_push_us, rb.cpu_per_push_us),
    cpu_per_push_paced_ratio: ratioOf(cp.cpu_per_push_us, rp.cpu_per_push_us),
    paced_p99_other_minus_same_ms: diffOf(cp.latency.other_nodes?.p99_ms, cp.latency.same_node.p99_ms),
    paced_p50_other_minus_same_ms: diffOf(cp.latency.other_nodes?.p50_ms, cp.latency.same_node.p50_ms),
    paced_first_push_p99_other_minus_same_ms: diffOf(cp.latency.first_push?.other_nodes?.p99_ms, cp.latency.first_push?.same_node.p99_ms),
    paced_first_push_p50_other_minus_same_ms: diffOf(cp.latency.first_push?.other_nodes?.p50_ms, cp.latency.first_push?.same_node.p50_ms),
    burst_p99_other_minus_same_ms: diffOf(cb.latency.other_nodes?.p99_ms, cb.latency.same_node.p99_ms),
    paced_p99_cluster_over_reference: ratioOf(cp.latency.all.p99_ms, rp.latency.all.p99_ms),
    burst_deliveries_per_s_ratio: ratioOf(cb.deliveries_per_s, rb.deliveries_per_s),
    bytes_per_subscriber_ratio: ratioOf(c.bytes_per_subscriber, r.bytes_per_subscriber),
    cluster_missed: sumOf(c, 'missed'),
    cluster_duplicated: sumOf(c, 'duplicated'),
    cluster_order_differs: sumOf(c, 'order_differs'),
    cluster_strays: c.strays_after ?? null,
    cluster_closed: c.closed_subscribers ?? null,
    reference_missed: sumOf(r, 'missed'),
    reference_duplicated: sumOf(r, 'duplicated'),
    reference_order_differs: sumOf(r, 'order_differs'),
    reference_strays: r.strays_after ?? null,
    reference_closed: r.closed_subscribers ?? null,
  };
  return figures;
}

/**
 * What the projection starts from, per node and in seconds of one core,
 * from the cluster's phases:
 * - `h`: idle CPU share of a node by itself (no subscribers yet), mean
 *   over the nodes; `i`: what holding a connection adds, per second (idle
 *   with every subscriber connected, less `h`, over the subscribers);
 * - `w`: the writer's node's CPU per commit nobody subscribes to (the
 *   request, the transaction, the publish), idle deducted;
 * - `a`: another node's CPU per such commit (taking it off the feed);
 * - `b`: CPU per push once `w` and `a` are deducted for each update: the
 *   larger of the burst's and the paced phase's;
 * - `m`: memory per subscribed connection (mean over nodes).
 */
export function projectionInputs(results) {
  const c = results.cluster;
  const n = c.nodes.length;
  const idle = c.idle.node_cpu_share;
  const empty = c.idle_empty.node_cpu_share;
  const subscribers = c.nodes.reduce((sum, node) => sum + node.subscribers, 0);
  const h = empty.reduce((x, y) => x + y, 0) / n;
  const i = Math.max(0, idle.reduce((x, y) => x + y, 0) - h * n) / subscribers;
  const commit = c.phases.commit;
  const perCommit = (i) => Math.max(0, (commit.node_cpu_s[i] - idle[i] * commit.cpu_window_seconds) / commit.updates);
  const w = perCommit(0);
  const others = Array.from({ length: n - 1 }, (_, k) => perCommit(k + 1));
  const a = others.length ? others.reduce((x, y) => x + y, 0) / others.length : 0;
  const perPush = (p) => {
    if (!p?.pushes) return null;
    const idleCpu = idle.reduce((sum, share) => sum + share * p.cpu_window_seconds, 0);
    return Math.max(0, (p.cpu_s - idleCpu - p.updates * (w + (n - 1) * a)) / p.pushes);
  };
  const bBurst = perPush(c.phases.burst);
  const bPaced = perPush(c.phases.paced);
  return {
    nodes: n,
    w_us: w * 1e6,
    a_us: a * 1e6,
    b_burst_us: bBurst === null ? null : bBurst * 1e6,
    b_paced_us: bPaced === null ? null : bPaced * 1e6,
    b_us: Math.max(bBurst ?? 0, bPaced ?? 0) * 1e6,
    h_share: h,
    i_us_per_s: i * 1e6,
    m_bytes: c.bytes_per_subscriber,
  };
}

/** Assumptions of the worked table: the nodes one would deploy, not these. */
export const PROJECTION = {
  cores_per_node: 2,
  utilisation: 0.7,
  memory_per_node_gib: 4,
  workloads: [
    // connections, updates/s (cluster-wide), subscribers per update
    [10_000, 10, 1_000],
    [100_000, 100, 1_000],
    [100_000, 1_000, 100],
    [1_000_000, 100, 10_000],
    [1_000_000, 1_000, 1_000],
    [1_000_000, 10_000, 10],
  ],
};

/**
 * Nodes needed for `connections` (C), `updates` per second (U) and
 * `fanout` subscribers per update (S), from the measured inputs:
 *
 *   CPU:    N ≥ (U·(w − a) + U·S·b + C·i) / (ρ·k − U·a − h)
 *   memory: N ≥ C·m / M
 *
 * each node having k cores used up to ρ and M bytes for connections. A node
 * spends h by itself, w on each commit it takes, a on each commit of
 * another node, b on each push, i per second on each connection; writes and
 * connections spread evenly. U·a + h ≥ ρ·k means no number of nodes will
 * do: every node takes every commit off the feed.
 */
export function nodesFor(inputs, [connections, updates, fanout], p = PROJECTION) {
  const w = inputs.w_us / 1e6;
  const a = inputs.a_us / 1e6;
  const i = inputs.i_us_per_s / 1e6;
  const budget = p.utilisation * p.cores_per_node;
  const room = budget - updates * a - (inputs.h_share ?? 0);
  const cpuWith = (bUs) =>
    bUs === null || room <= 0 ? null : Math.max(1, Math.ceil((updates * (w - a) + updates * fanout * (bUs / 1e6) + connections * i) / room));
  const cpu = cpuWith(inputs.b_us);
  const memory = Math.max(1, Math.ceil((connections * inputs.m_bytes) / (p.memory_per_node_gib * 2 ** 30)));
  return {
    connections,
    updates,
    fanout,
    pushes: updates * fanout,
    // b as the larger of the two phases' (pushes one by one), and as the burst's (pushes batched).
    cpu,
    cpu_batched: cpuWith(inputs.b_burst_us),
    memory,
    nodes: cpu === null ? null : Math.max(cpu, memory),
  };
}

const verdict = (met) => (met === null || met === undefined ? '–' : met ? 'yes' : '**no**');
const ms = (v) => (v === null || v === undefined ? '–' : `${fmt(v)} ms`);
const us = (v) => (v === null || v === undefined ? '–' : `${fmt(v)} µs`);
const times = (v) => (v === null || v === undefined ? '–' : `${fmt(v)}×`);
const plusMs = (v) => (v === null || v === undefined ? '–' : `${v >= 0 ? '+' : '−'}${fmt(Math.abs(v))} ms`);

export function clusterMarkdown(results) {
  const f = results.figures || clusterFigures(results);
  const c = results.cluster;
  const r = results.reference;
  const p = results.params;
  const m = results.machine;
  const v = results.versions;
  const pin = results.pinning;
  const out = [
    `- machine: ${m.cpu}, ${m.cores} cores, ${fmt(m.memory_bytes / 2 ** 30, 1)} GiB, ${m.os}`,
    `- halo: ${v.halo ?? '?'} (${v.halo_bin_commit ? `binary built from commit ${v.halo_bin_commit}, bench at ${v.halo_commit ?? '?'}` : `commit ${v.halo_commit ?? '?'}`}); PostgreSQL ${v.postgres ?? '?'}, Redis ${v.redis ?? '?'}; load generator Node ${v.node}, raw Engine.IO v4 clients (bench/eio.mjs), loopback`,
    pin.applied
      ? `- every halo node pinned to core ${pin.server_cpus}, the load generator to core ${pin.load_generator_cpus} (taskset); PostgreSQL and Redis not pinned`
      : `- **not pinned** (halo nodes on cores ${pin.server_cpus ?? '?'}, load generator on ${pin.load_generator_cpus ?? '?'})`,
    `- load average (1 min) at the start and end of each setup: one node ${(r.loadavg_start || [null])[0]?.toFixed(2) ?? '?'} → ${(r.loadavg_end || [null])[0]?.toFixed(2) ?? '?'}, cluster ${(c.loadavg_start || [null])[0]?.toFixed(2) ?? '?'} → ${(c.loadavg_end || [null])[0]?.toFixed(2) ?? '?'} (this run itself adds about 1-2)`,
    `- cluster: ${results.setup.cluster}; reference, in the same run: ${results.setup.reference}`,
    ...(c.admin_cluster !== undefined
      ? [
          `- /admin/cluster on node 1 once every subscriber was connected: ${c.admin_cluster ? `${fmt(c.admin_cluster.connections)} connections over ${c.admin_cluster.nodes?.length ?? '?'} nodes` : 'no answer'} (${fmt(c.nodes.reduce((sum, n) => sum + n.subscribers, 0) + 1)} open)`,
        ]
      : []),
    `- run ${results.date}${results.quick ? ', **quick** (smaller sizes)' : ''}${results.legacy ? ', **legacy** (no cluster mode: these figures test the script, not halo)' : ''}`,
    '',
  ];
  const cb = c.phases.burst;
  const rb = r.phases.burst;
  const cp = c.phases.paced;
  const rp = r.phases.paced;
  const subs = fmt(c.nodes.reduce((sum, n) => sum + n.subscribers, 0));
  const zero = (value) => (value === null ? null : value === 0);
  const rows = [
    [
      `server CPU per delivered push, all nodes: burst (${fmt(p.burst_updates)} updates, ${p.burst_in_flight} in flight, to ${subs})`,
      us(cb.cpu_per_push_us),
      us(rb.cpu_per_push_us),
      times(f.cpu_per_push_burst_ratio),
      '≤ 1.2×',
      f.cpu_per_push_burst_ratio === null ? null : f.cpu_per_push_burst_ratio <= 1.2,
    ],
    [
      `server CPU per delivered push, all nodes: paced (${p.paced_rate} updates/s, ${fmt(p.paced_updates)} updates)`,
      us(cp.cpu_per_push_us),
      us(rp.cpu_per_push_us),
      times(f.cpu_per_push_paced_ratio),
      '≤ 1.2×',
      f.cpu_per_push_paced_ratio === null ? null : f.cpu_per_push_paced_ratio <= 1.2,
    ],
    [
      `delivery p99 at ${p.paced_rate} updates/s: other nodes’ subscribers / writer’s node’s`,
      ms(cp.latency.other_nodes?.p99_ms),
      ms(cp.latency.same_node.p99_ms),
      plusMs(f.paced_p99_other_minus_same_ms),
      '≤ +2 ms',
      f.paced_p99_other_minus_same_ms === null ? null : f.paced_p99_other_minus_same_ms <= 2,
    ],
    [
      `delivery p50 at ${p.paced_rate} updates/s: other nodes / writer’s node`,
      ms(cp.latency.other_nodes?.p50_ms),
      ms(cp.latency.same_node.p50_ms),
      plusMs(f.paced_p50_other_minus_same_ms),
      '',
      null,
    ],
    [
      `first push of each update on a node at ${p.paced_rate} updates/s, p50: other nodes / writer’s node (the commit reaching the node)`,
      ms(cp.latency.first_push?.other_nodes?.p50_ms),
      ms(cp.latency.first_push?.same_node.p50_ms),
      plusMs(f.paced_first_push_p50_other_minus_same_ms),
      '',
      null,
    ],
    [
      `first push of each update on a node at ${p.paced_rate} updates/s, p99: other nodes / writer’s node`,
      ms(cp.latency.first_push?.other_nodes?.p99_ms),
      ms(cp.latency.first_push?.same_node.p99_ms),
      plusMs(f.paced_first_push_p99_other_minus_same_ms),
      '',
      null,
    ],
    [
      `last push of each update on a node at ${p.paced_rate} updates/s, p50: other nodes / writer’s node (the node done)`,
      ms(cp.latency.last_push?.other_nodes?.p50_ms),
      ms(cp.latency.last_push?.same_node.p50_ms),
      plusMs(diffOf(cp.latency.last_push?.other_nodes?.p50_ms, cp.latency.last_push?.same_node.p50_ms)),
      '',
      null,
    ],
    [
      'delivery p99, burst: other nodes / writer’s node',
      ms(cb.latency.other_nodes?.p99_ms),
      ms(cb.latency.same_node.p99_ms),
      plusMs(f.burst_p99_other_minus_same_ms),
      '',
      null,
    ],
    [
      `delivery p99 at ${p.paced_rate} updates/s, all subscribers: cluster / one node`,
      ms(cp.latency.all.p99_ms),
      ms(rp.latency.all.p99_ms),
      times(f.paced_p99_cluster_over_reference),
      '',
      null,
    ],
    [
      'burst deliveries/s: cluster / one node (bounded by the one load generator)',
      fmt(cb.deliveries_per_s),
      fmt(rb.deliveries_per_s),
      times(f.burst_deliveries_per_s_ratio),
      '',
      null,
    ],
    [
      'memory per subscribed connection: cluster node (mean) / one node',
      `${fmt(c.bytes_per_subscriber / 1024)} KiB`,
      `${fmt(r.bytes_per_subscriber / 1024)} KiB`,
      times(f.bytes_per_subscriber_ratio),
      '',
      null,
    ],
    ['missed pushes, all phases (per subscriber per update)', fmt(f.cluster_missed), fmt(f.reference_missed), fmt(f.cluster_missed), '0', zero(f.cluster_missed)],
    ['duplicated pushes, all phases', fmt(f.cluster_duplicated), fmt(f.reference_duplicated), fmt(f.cluster_duplicated), '0', zero(f.cluster_duplicated)],
    [
      'subscribers that saw the updates in another order than the first subscriber',
      fmt(f.cluster_order_differs),
      fmt(f.reference_order_differs),
      fmt(f.cluster_order_differs),
      '0',
      zero(f.cluster_order_differs),
    ],
    [
      'pushes outside their phase (late or stray), subscribers disconnected',
      `${fmt(f.cluster_strays)}, ${fmt(f.cluster_closed)}`,
      `${fmt(f.reference_strays)}, ${fmt(f.reference_closed)}`,
      fmt((f.cluster_strays ?? 0) + (f.cluster_closed ?? 0)),
      '0',
      f.cluster_strays === null ? null : f.cluster_strays + f.cluster_closed === 0,
    ],
  ];
  out.push('| figure | cluster | reference | result | target | met |', '|---|---:|---:|---:|---:|:---:|');
  for (const [figure, measured, reference, result, target, met] of rows) {
    out.push(`| ${figure} | ${measured} | ${reference} | ${result} | ${target || '–'} | ${verdict(met)} |`);
  }
  out.push('', 'For the latency rows the reference is the cluster’s own writer’s node; for the rest, one node serving everyone.', '');

  // The phases in detail.
  out.push(
    'Phases (CPU: seconds of one core, per node; the commit phase updates a second model nobody subscribes to):',
    '',
    '| phase | setup | updates | pushes | missed | dup. | node CPU s | per push | per commit, per node | ack p50 / p99 | p50 / p99 writer’s node | p50 / p99 other nodes | PostgreSQL CPU s | Redis CPU s |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
  );
  const pair = (l) => (l && l.n ? `${fmt(l.p50_ms)} / ${fmt(l.p99_ms)} ms` : '–');
  for (const name of ['commit', 'burst', 'paced']) {
    for (const [label, side] of [
      ['cluster', c],
      ['one node', r],
    ]) {
      const ph = side.phases[name];
      if (!ph) continue;
      out.push(
        `| ${name} | ${label} | ${fmt(ph.updates)} | ${fmt(ph.pushes)} | ${fmt(ph.missed)} | ${fmt(ph.duplicated)} | ${ph.node_cpu_s.map((x) => fmt(x, 2)).join(' + ')} | ${us(ph.cpu_per_push_us)} | ${name === 'commit' ? `${ph.cpu_per_commit_us.map((x) => fmt(x)).join(' / ')} µs` : '–'} | ${pair(ph.ack)} | ${pair(ph.latency.same_node)} | ${pair(ph.latency.other_nodes)} | ${fmt(ph.postgres_cpu_s, 2)} | ${ph.redis_cpu_s === null ? '–' : fmt(ph.redis_cpu_s, 2)} |`
      );
    }
  }
  out.push(
    '',
    `Idle (share of a core, per node): before the subscribers connect (${fmt(c.idle_empty.seconds, 1)} s) ${c.idle_empty.node_cpu_share.map((s) => `${fmt(s * 100, 1)}%`).join(' / ')} on the cluster’s nodes, ${fmt(r.idle_empty.node_cpu_share[0] * 100, 1)}% on the one node; with every subscriber connected (${fmt(c.idle.seconds, 1)} s) ${c.idle.node_cpu_share.map((s) => `${fmt(s * 100, 1)}%`).join(' / ')}, and ${fmt(r.idle.node_cpu_share[0] * 100, 1)}%. Redis CPU is the whole server’s, whoever else uses it.`,
    ''
  );

  // Projection.
  const inputs = results.projection?.inputs || projectionInputs(results);
  const proj = results.projection?.params || PROJECTION;
  out.push(
    `Projection inputs, from the cluster’s phases: w = ${fmt(inputs.w_us)} µs per commit on the writer’s node, a = ${fmt(inputs.a_us)} µs per commit on each other node, b = ${fmt(inputs.b_us)} µs per push (burst ${us(inputs.b_burst_us)}, paced ${us(inputs.b_paced_us)}), h = ${fmt(inputs.h_share * 100, 1)}% of a core for a node by itself, i = ${fmt(inputs.i_us_per_s, 2)} µs per second per connection, m = ${fmt(inputs.m_bytes / 1024)} KiB per subscribed connection. Nodes of ${proj.cores_per_node} cores used to ${fmt(proj.utilisation * 100, 0)}%, ${proj.memory_per_node_gib} GiB for connections each:`,
    '',
    '| connections | updates/s | subscribers per update | pushes/s | nodes for CPU (b = max; b = burst’s) | nodes for memory | nodes |',
    '|---:|---:|---:|---:|---:|---:|---:|'
  );
  const count = (v) => (v === null ? 'none will do' : fmt(v));
  for (const workload of proj.workloads) {
    const row = nodesFor(inputs, workload, proj);
    out.push(
      `| ${fmt(row.connections)} | ${fmt(row.updates)} | ${fmt(row.fanout)} | ${fmt(row.pushes)} | ${count(row.cpu)}; ${count(row.cpu_batched)} | ${fmt(row.memory)} | ${row.nodes === null ? '–' : fmt(row.nodes)} |`
    );
  }
  out.push('');
  const complaints = Object.entries({ ...(c.complaints || {}), ...Object.fromEntries(Object.entries(r.complaints || {}).map(([k, x]) => [`ref ${k}`, x])) }).filter(
    ([, lines]) => lines.length
  );
  if (complaints.length) {
    out.push('Warnings and errors the nodes logged (first of each):', '');
    for (const [node, lines] of complaints) out.push(`- ${node}: \`${lines[0].replace(/`/g, "'").slice(0, 300)}\` (${lines.length}${lines.length >= 20 ? '+' : ''})`);
    out.push('');
  }
  return out.join('\n');
}

// Run directly: rewrite cluster.md from a results file.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = path.resolve(process.argv[2] || fileURLToPath(new URL('results/cluster.json', import.meta.url)));
  const results = JSON.parse(fs.readFileSync(file, 'utf8'));
  const md = clusterMarkdown(results);
  fs.writeFileSync(path.join(path.dirname(file), 'cluster.md'), md);
  console.log(md);
}
