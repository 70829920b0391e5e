// Delivery latency against load, from bench/run.mjs's results: an SVG line
// chart (x: updates/s offered, y: delivery latency, both log scale; one
// colour per server, p99 solid, p50 dashed), rendered to PNG by headless
// Chromium through playwright-core (the repository's dev dependency; no
// browser download: Debian's chromium, or $CHROMIUM).
//
//   node bench/plot.mjs [bench/results/run.json]
//
// writes latency.png and table.md next to the results file.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmt, markdown, sweepRows } from './report.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const WIDTH = 900;
const HEIGHT = 560;
const MARGIN = { left: 80, right: 30, top: 116, bottom: 86 };
const COLOURS = { halo: '#d9480f', node: '#2b8a3e' };
const NAMES = { halo: 'halo', node: 'Node socket.io' };

const esc = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** 1-2-5 steps covering [lo, hi]. */
function steps(lo, hi) {
  const out = [];
  for (let decade = 10 ** Math.floor(Math.log10(lo)); decade <= hi * 10; decade *= 10) {
    for (const m of [1, 2, 5]) {
      const v = m * decade;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

/** The chart as SVG text, or null when the results have no sweep. */
export function svg(results) {
  const rows = sweepRows(results);
  if (!rows.length) return null;
  const sides = ['halo', 'node'].filter((side) => results.sweep[side]?.length);
  const values = rows.flatMap((r) => sides.flatMap((s) => [r[s]?.delivery_p50_ms, r[s]?.delivery_p99_ms])).filter((v) => v > 0);
  if (!values.length) return null;
  const rates = rows.map((r) => r.rate);
  // The y range: whole 1-2-5 steps around the data, with some room.
  const lo = Math.min(...values) / 1.15;
  const hi = Math.max(...values) * 1.15;
  const yLo = Math.max(...steps(lo / 10, lo));
  const yHi = Math.min(...steps(hi, hi * 10));
  const xLo = Math.min(...rates) / 1.25;
  const xHi = Math.max(...rates) * 1.25;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (v) => MARGIN.left + ((Math.log(v) - Math.log(xLo)) / (Math.log(xHi) - Math.log(xLo))) * plotW;
  const y = (v) => MARGIN.top + plotH - ((Math.log(v) - Math.log(yLo)) / (Math.log(yHi) - Math.log(yLo))) * plotH;
  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`
  );
  const subs = fmt(results.params.sweep.subscribers);
  const m = results.machine;
  const v = results.versions;
  parts.push(
    `<text x="${MARGIN.left}" y="30" font-size="19" font-weight="bold" fill="#222">Fan-out delivery latency against load</text>`,
    `<text x="${MARGIN.left}" y="52" font-size="13" fill="#444">${esc(`${subs} subscribers of one model, one writer at a fixed rate for ${results.params.sweep.seconds} s per point${results.quick ? ' (quick run)' : ''}`)}</text>`,
    `<text x="${MARGIN.left}" y="70" font-size="12" fill="#666">${esc(`${m.cpu}, ${m.cores} cores${results.pinning.applied ? ', server and load generator pinned apart' : ''}; ${v.halo ?? 'halo'} (${v.halo_commit ?? '?'}) vs Node ${v.node}, socket.io ${v.socket_io ?? '?'}`)}</text>`
  );
  // Grid and axes.
  for (const t of steps(yLo, yHi)) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e6e6e6"/>`,
      `<text x="${MARGIN.left - 8}" y="${(y(t) + 4).toFixed(1)}" font-size="12" text-anchor="end" fill="#444">${esc(fmt(t, t < 1 ? 1 : 0))}</text>`
    );
  }
  for (const r of rows) {
    parts.push(
      `<line x1="${x(r.rate).toFixed(1)}" x2="${x(r.rate).toFixed(1)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#f0f0f0"/>`,
      `<text x="${x(r.rate).toFixed(1)}" y="${MARGIN.top + plotH + 18}" font-size="12" text-anchor="middle" fill="#444">${fmt(r.rate)}</text>`,
      `<text x="${x(r.rate).toFixed(1)}" y="${MARGIN.top + plotH + 33}" font-size="10" text-anchor="middle" fill="#888">${esc(r.offered >= 1000 ? `${fmt(r.offered / 1000)}k/s` : `${fmt(r.offered)}/s`)}</text>`
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 18}" font-size="13" text-anchor="middle" fill="#222">offered load: updates/s (deliveries/s below), log scale</text>`,
    `<text transform="translate(20 ${MARGIN.top + plotH / 2}) rotate(-90)" font-size="13" text-anchor="middle" fill="#222">delivery latency, ms (log scale)</text>`
  );
  // One line per server and percentile.
  for (const side of sides) {
    for (const [key, dash, width, radius] of [
      ['delivery_p99_ms', '', 2.5, 4],
      ['delivery_p50_ms', '6 4', 1.5, 2.5],
    ]) {
      const points = rows.filter((r) => r[side]?.[key] > 0).map((r) => [x(r.rate), y(r[side][key])]);
      if (!points.length) continue;
      parts.push(
        `<polyline points="${points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}" fill="none" stroke="${COLOURS[side]}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`
      );
      for (const [px, py] of points) {
        parts.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="${radius}" fill="${dash ? '#fff' : COLOURS[side]}" stroke="${COLOURS[side]}" stroke-width="1.5"/>`);
      }
    }
  }
  // Legend: one row above the plot.
  let lx = MARGIN.left;
  for (const side of sides) {
    for (const [label, dash, width] of [
      ['p99', '', 2.5],
      ['p50', '6 4', 1.5],
    ]) {
      const ly = MARGIN.top - 14;
      const text = `${NAMES[side]} ${label}`;
      parts.push(
        `<line x1="${lx}" x2="${lx + 30}" y1="${ly}" y2="${ly}" stroke="${COLOURS[side]}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
        `<text x="${lx + 37}" y="${ly + 4}" font-size="12" fill="#222">${esc(text)}</text>`
      );
      lx += 37 + text.length * 7.2 + 22;
    }
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** playwright-core's chromium: the repository's dev dependency, else bench's own. */
function playwright() {
  for (const from of [path.join(REPO, 'package.json'), path.join(REPO, 'bench/package.json')]) {
    try {
      return createRequire(from)('playwright-core');
    } catch {}
  }
  throw new Error('playwright-core is not installed: run `npm ci` at the repository root (make setup does)');
}

/** Renders the chart of `results` to the PNG file `png`; returns its path. */
export async function plot(results, png) {
  const chart = svg(results);
  if (!chart) throw new Error('the results have no latency sweep to plot');
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: install chromium or set CHROMIUM`);
  const { chromium } = playwright();
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: WIDTH, height: HEIGHT }, deviceScaleFactor: 2 });
    await page.setContent(`<!doctype html><html><body style="margin:0">${chart}</body></html>`);
    await fsp.mkdir(path.dirname(png), { recursive: true });
    await page.locator('svg').screenshot({ path: png });
  } finally {
    await browser.close();
  }
  return png;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const file = path.resolve(process.argv[2] || path.join(REPO, 'bench/results/run.json'));
  const results = JSON.parse(await fsp.readFile(file, 'utf8'));
  const dir = path.dirname(file);
  await fsp.writeFile(path.join(dir, 'table.md'), markdown(results));
  console.log(`written: ${path.relative(process.cwd(), path.join(dir, 'table.md'))}`);
  const png = await plot(results, path.join(dir, 'latency.png'));
  console.log(`written: ${path.relative(process.cwd(), png)}`);
}
