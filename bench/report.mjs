// The results of bench/run.mjs as Markdown: the header (machine, versions,
// pinning), halo against Node with the ratio and the target of each figure,
// the figures only halo has, and delivery latency against load.

/** `v` for a table: thousands separated, fewer decimals the larger it is. */
export function fmt(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const abs = Math.abs(v);
  const d = digits ?? (abs >= 100 || Number.isInteger(v) ? 0 : abs >= 10 ? 1 : 2);
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

const ratioOf = (a, b) => (a === null || b === null || a === undefined || b === undefined || b === 0 ? null : a / b);

/** Whether `value` meets `target` (`[op, bound]`); null when either is missing. */
function meets(target, value) {
  if (!target || value === null || value === undefined) return null;
  const [op, bound] = target;
  return op === '<=' ? value <= bound : op === '>=' ? value >= bound : value === bound;
}

const describe = (target, unit = '×') => {
  if (!target) return '';
  const [op, bound] = target;
  if (op === '==') return `${bound}`;
  return `${op === '<=' ? '≤' : '≥'} ${bound}${unit === '×' ? '×' : ` ${unit}`}`;
};

const verdict = (met) => (met === null ? '–' : met ? 'yes' : '**no**');

/** The keys of the figures measured on both servers, in the table's order. */
export const MAIN_FIGURES = [
  'rtt_p50_ms',
  'rtt_p99_ms',
  'acks_per_s',
  'ack_p99_ms',
  'fanout_seq_deliveries_per_s',
  'fanout_seq_delivery_p99_ms',
  'fanout_burst_deliveries_per_s',
  'fanout_burst_delivery_p99_ms',
  'fanout_burst_deliveries_per_cpu_s',
  'fanout_paced_delivery_p50_ms',
  'fanout_paced_delivery_p99_ms',
  'fanout_missed',
  'fanout_duplicated',
  'bytes_per_conn',
  'connects_per_s',
  'instructions_per_ack',
];

/**
 * The comparisons the tables show: halo with durability `disk` against
 * Node committing each write to SQLite, halo with durability `process`
 * against Node in memory, and the same against socketioxide alone. `targets`
 * holds each figure's target ratio.
 */
export const COMPARISONS = [
  {
    title: 'halo `disk` against Node durable (better-sqlite3, WAL, synchronous=FULL, commit before ack)',
    halo: 'halo',
    node: 'node_durable',
    label: 'Node durable',
    targets: {
      rtt_p50_ms: ['<=', 0.6],
      rtt_p99_ms: ['<=', 0.6],
      acks_per_s: ['>=', 15],
      fanout_burst_deliveries_per_s: ['>=', 3],
      fanout_paced_delivery_p99_ms: ['<=', 0.6],
    },
  },
  {
    title: 'halo `process` against Node in memory',
    halo: 'halo_process',
    node: 'node',
    label: 'Node',
    targets: {
      rtt_p50_ms: ['<=', 0.8],
      rtt_p99_ms: ['<=', 0.8],
      acks_per_s: ['>=', 3],
      fanout_burst_deliveries_per_s: ['>=', 3],
      fanout_paced_delivery_p99_ms: ['<=', 0.8],
      bytes_per_conn: ['<=', 1.0],
      connects_per_s: ['>=', 2],
    },
  },
  {
    // No targets: the floor under halo's figures, measured in the same run.
    title: 'halo `process` against bare socketioxide (the same job on socketioxide alone, in memory, its defaults)',
    halo: 'halo_process',
    node: 'bare',
    label: 'bare socketioxide',
    targets: {},
  },
];

/**
 * The rows of one comparison: figure, unit of the values (ms or KiB; rates
 * name theirs in the figure), each side's value (scaled for display), ratio
 * halo / Node, target and whether it is met.
 */
export function mainRows(results, comparison = COMPARISONS[0]) {
  const f = results.params.fanout;
  const subs = fmt(f.subscribers);
  const conns = fmt(results.params.conns.connections);
  const t = results.params.throughput;
  const defs = {
    rtt_p50_ms: ['rtt p50: one client, sequential update with ack', 'ms'],
    rtt_p99_ms: ['rtt p99', 'ms'],
    acks_per_s: [`throughput: ${t.clients} clients × ${t.in_flight} updates in flight, ${t.seconds} s: acks/s`, ''],
    ack_p99_ms: ['throughput: ack p99', 'ms'],
    fanout_seq_deliveries_per_s: [`fan-out to ${subs}, writer waits for each ack: deliveries/s`, ''],
    fanout_seq_delivery_p99_ms: ['fan-out, writer waits for each ack: delivery p99', 'ms'],
    fanout_burst_deliveries_per_s: [`fan-out to ${subs}, ${f.burst_in_flight} updates in flight: deliveries/s`, ''],
    fanout_burst_delivery_p99_ms: [`fan-out, ${f.burst_in_flight} in flight: delivery p99`, 'ms'],
    fanout_burst_deliveries_per_cpu_s: [
      `fan-out, ${f.burst_in_flight} in flight: deliveries per second of server CPU (the server's capacity when the load generator's core is the busy one)`,
      '',
    ],
    fanout_paced_delivery_p50_ms: [`fan-out at ${f.paced_rate} updates/s: delivery p50`, 'ms'],
    fanout_paced_delivery_p99_ms: [`fan-out at ${f.paced_rate} updates/s: delivery p99`, 'ms'],
    fanout_missed: ['fan-out: missed deliveries (all three)', ''],
    fanout_duplicated: ['fan-out: duplicated deliveries (all three)', ''],
    bytes_per_conn: [`memory per idle connection (${conns} open)`, 'KiB', 1 / 1024],
    connects_per_s: [`connects/s (${conns} connections)`, ''],
    instructions_per_ack: ['instructions per acked update, throughput load, all server threads (callgrind, user space)', ''],
  };
  const exact = { fanout_missed: ['==', 0], fanout_duplicated: ['==', 0] };
  const sideOf = (name) => results[name] || {};
  return MAIN_FIGURES.map((key) => {
    const [figure, unit, scale = 1] = defs[key];
    const target = exact[key] || comparison.targets[key] || null;
    const value = (side) => (side[key] === null || side[key] === undefined ? null : side[key] * scale);
    const halo = value(sideOf(comparison.halo));
    const node = value(sideOf(comparison.node));
    const ratio = ratioOf(halo, node);
    // Missed and duplicated deliveries must be 0 on halo, whatever Node does.
    const met = target?.[0] === '==' ? meets(target, halo) : meets(target, ratio);
    return { key, figure, unit, halo, node, ratio, target: describe(target), met };
  });
}

/** halo's rtt p50 with durability `disk` against what one fsync costs here. */
export function fsyncRow(results) {
  const probe = results.fsync;
  const rtt = results.halo?.rtt_p50_ms;
  if (!probe || rtt === null || rtt === undefined) return null;
  const bound = probe.grow_ms + 0.06;
  return {
    figure: 'rtt p50 with durability `disk` against one fsync (appending) + 60 µs',
    measured: `${fmt(rtt, 3)} ms`,
    reference: `fsync ${fmt(probe.overwrite_ms, 3)} ms (overwrite), ${fmt(probe.grow_ms, 3)} ms (append)`,
    result: `${fmt((rtt - probe.grow_ms) * 1000, 0)} µs over the fsync`,
    target: '≤ 60 µs',
    met: rtt <= bound,
  };
}

/** Figures only halo has, each against a reference measured in the same run. */
export function haloRows(results) {
  const rows = [];
  const p = results.plugin;
  if (p) {
    if (p.wasm_cpu_us !== undefined) {
      rows.push({
        key: 'wasm_cpu_us',
        figure: 'Wasm handler: server CPU per update through MyModels’ handler / built-in (Echo)',
        measured: `${fmt(p.custom_cpu_us, 1)} µs`,
        reference: `${fmt(p.builtin_cpu_us, 1)} µs`,
        result: `${fmt(p.wasm_cpu_us, 1)} µs added`,
        value: p.wasm_cpu_us,
        target: '≤ 8 µs',
        met: meets(['<=', 8], p.wasm_cpu_us),
      });
    }
    rows.push({
      key: 'wasm_us',
      figure: 'Wasm handler: update rtt p50 through MyModels’ handler / built-in (Echo)',
      measured: `${fmt(p.custom_p50_ms, 3)} ms`,
      reference: `${fmt(p.builtin_p50_ms, 3)} ms`,
      result: `${fmt(p.wasm_us, 1)} µs`,
      value: p.wasm_us,
      target: '',
      met: null,
    });
  }
  const r = results.render;
  if (r) {
    const subs = fmt(results.params.render.subscribers);
    rows.push({
      key: 'render_ratio',
      figure: `fan-out to ${subs} with per-client render / without, ${results.params.render.burst_in_flight} in flight: deliveries/s`,
      measured: fmt(r.per_client.deliveries_per_s),
      reference: fmt(r.shared.deliveries_per_s),
      result: `${fmt(r.ratio)}×`,
      value: r.ratio,
      target: '≥ 0.5×',
      met: meets(['>=', 0.5], r.ratio),
    });
    const p99 = ratioOf(r.per_client.delivery_p99_ms, r.shared.delivery_p99_ms);
    rows.push({
      key: 'render_p99',
      figure: 'fan-out with per-client render / without: delivery p99',
      measured: `${fmt(r.per_client.delivery_p99_ms)} ms`,
      reference: `${fmt(r.shared.delivery_p99_ms)} ms`,
      result: `${fmt(p99)}×`,
      value: p99,
      target: '',
      met: null,
    });
    const lost = r.per_client.missed + r.per_client.duplicated + r.shared.missed + r.shared.duplicated;
    rows.push({
      key: 'render_missed',
      figure: 'fan-out with and without per-client render: missed + duplicated',
      measured: fmt(r.per_client.missed + r.per_client.duplicated),
      reference: fmt(r.shared.missed + r.shared.duplicated),
      result: fmt(lost),
      value: lost,
      target: '0',
      met: lost === 0,
    });
  }
  return rows;
}

/** One row per rate of the latency sweep, both servers side by side. */
export function sweepRows(results) {
  const rates = [...new Set([...(results.sweep.halo || []), ...(results.sweep.node || [])].map((p) => p.rate))].sort(
    (a, b) => a - b
  );
  const at = (side, rate) => (results.sweep[side] || []).find((p) => p.rate === rate) || null;
  return rates.map((rate) => ({ rate, offered: rate * results.params.sweep.subscribers, halo: at('halo', rate), node: at('node', rate) }));
}

/** The header lines: machine, OS, versions, pinning. */
export function header(results) {
  const m = results.machine;
  const v = results.versions;
  const p = results.pinning;
  const pinning = p.applied
    ? `each server pinned to core ${p.server_cpus.halo ?? p.server_cpus.node}, the load generator to core ${p.load_generator_cpus} (taskset)`
    : `**not pinned** (servers on cores ${p.server_cpus.halo ?? p.server_cpus.node ?? '?'}, load generator on ${p.load_generator_cpus ?? '?'})`;
  return [
    `- machine: ${m.cpu}, ${m.cores} cores, ${fmt(m.memory_bytes / 2 ** 30, 1)} GiB, ${m.os}`,
    `- halo: ${v.halo ?? '?'} (commit ${v.halo_commit ?? '?'}, ${v.rustc ?? 'rustc ?'}); reference: Node ${v.node} + socket.io ${v.socket_io ?? '?'}`,
    `- ${pinning}; loopback, raw Engine.IO v4 clients (bench/eio.mjs)`,
    `- run ${results.date}${results.quick ? ', **quick** (smaller sizes)' : ''}${results.scenarios.length < 7 ? `, scenarios: ${results.scenarios.join(', ')}` : ''}`,
  ].join('\n');
}

/** The whole report as Markdown. */
export function markdown(results) {
  const out = [header(results), ''];
  for (const comparison of COMPARISONS) {
    const rows = mainRows(results, comparison).filter((row) => row.halo !== null || row.node !== null);
    if (!rows.length) continue;
    out.push(`**${comparison.title}**`, '');
    out.push(`| figure | halo | ${comparison.label} | ratio | target | met |`, '|---|---:|---:|---:|---:|:---:|');
    for (const row of rows) {
      const unit = row.unit ? ` ${row.unit}` : '';
      out.push(
        `| ${row.figure} | ${fmt(row.halo)}${row.halo === null ? '' : unit} | ${fmt(row.node)}${row.node === null ? '' : unit} | ${row.ratio === null ? '–' : `${fmt(row.ratio)}×`} | ${row.target || '–'} | ${verdict(row.met)} |`
      );
    }
    out.push('');
  }
  const own = haloRows(results);
  const fsync = fsyncRow(results);
  if (fsync) own.unshift(fsync);
  if (own.length) {
    out.push('| halo only | measured | reference | result | target | met |', '|---|---:|---:|---:|---:|:---:|');
    for (const row of own) {
      out.push(`| ${row.figure} | ${row.measured} | ${row.reference} | ${row.result} | ${row.target || '–'} | ${verdict(row.met)} |`);
    }
    out.push('');
  }
  if (results.idle) {
    const i = results.idle;
    const kib = (v) => (v === undefined ? '–' : `${fmt(v / 1024)} KiB`);
    out.push(
      `Memory per connection, ${fmt(results.params.idle.connections)} open on each server at once, just after connecting and after ${i.minutes} minutes idle (answering pings):`,
      '',
      '| server | fresh | idle | idle / fresh | closed meanwhile |',
      '|---|---:|---:|---:|---:|'
    );
    for (const [side, label] of [['halo_process', 'halo `process`'], ['node', 'Node'], ['bare', 'bare socketioxide']]) {
      const m = i[side];
      if (!m) continue;
      out.push(`| ${label} | ${kib(m.bytes_per_conn_fresh)} | ${kib(m.bytes_per_conn_idle)} | ${fmt(m.bytes_per_conn_idle / m.bytes_per_conn_fresh)}× | ${fmt(m.closed)} |`);
    }
    const halo = i.halo_process?.bytes_per_conn_idle;
    if (halo && i.node) out.push('', `halo / Node after ${i.minutes} minutes idle: ${fmt(halo / i.node.bytes_per_conn_idle)}×; halo / bare socketioxide: ${i.bare ? `${fmt(halo / i.bare.bytes_per_conn_idle)}×` : '–'}.`);
    out.push('');
  }
  const sweep = sweepRows(results);
  if (sweep.length) {
    const subs = fmt(results.params.sweep.subscribers);
    out.push(
      `Delivery latency against load: ${subs} subscribers of one model, one writer sending at a fixed rate for ${results.params.sweep.seconds} s (CPU: busy share of the server's core / of the load generator's).`,
      '',
      '| updates/s (deliveries/s) | halo `disk` p50 | halo p99 | halo CPU | Node (memory) p50 | Node p99 | Node CPU | p99 halo / Node |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|'
    );
    const ms = (v) => (v === null || v === undefined ? '–' : `${fmt(v)} ms`);
    const cpu = (point) => (point ? `${fmt(point.server_cpu * 100, 0)}% / ${fmt(point.load_cpu * 100, 0)}%` : '–');
    const lost = (point) => (point && point.missed + point.duplicated > 0 ? ` (${fmt(point.missed)} missed)` : '');
    for (const { rate, offered, halo, node } of sweep) {
      const ratio = ratioOf(halo?.delivery_p99_ms, node?.delivery_p99_ms);
      out.push(
        `| ${fmt(rate)} (${fmt(offered)}) | ${ms(halo?.delivery_p50_ms)} | ${ms(halo?.delivery_p99_ms)}${lost(halo)} | ${cpu(halo)} | ${ms(node?.delivery_p50_ms)} | ${ms(node?.delivery_p99_ms)}${lost(node)} | ${cpu(node)} | ${ratio === null ? '–' : `${fmt(ratio)}×`} |`
      );
    }
    out.push('');
  }
  return `${out.join('\n')}`;
}
