// What the benchmark scripts share: ports, pinning, memory and CPU readings,
// percentiles and ack checks.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';

/** Whether servers can be pinned to a core with `taskset`. */
export const hasTaskset = spawnSync('taskset', ['-V']).status === 0;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A free loopback port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resident memory of process `pid`, in bytes. */
export function rssOf(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU time process `pid` used so far (all its threads, user and system), in seconds. */
export function cpuOf(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: state is the first,
  // utime the 12th, stime the 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/**
 * CPU time process `pid` has run so far, all its threads, in seconds, from
 * the scheduler's per-thread nanosecond counts (`/proc/<pid>/task/<tid>/schedstat`):
 * fine enough to tell the cost of one request, where `cpuOf`'s clock ticks
 * are 10 ms.
 */
export function cpuTimeOf(pid) {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1e9;
}

/** The CPUs process `pid` may run on, as taskset lists them ("0", "0,1"), or null. */
export function affinityOf(pid) {
  if (!hasTaskset) return null;
  const out = spawnSync('taskset', ['-pc', String(pid)], { encoding: 'utf8' }).stdout || '';
  return /list:\s*(\S+)/.exec(out)?.[1] ?? null;
}

/** p50 and p99 of `samples`, and how many there were. */
export function percentiles(samples) {
  const sorted = Float64Array.from(samples).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), n: sorted.length };
}

/** The result of an ack `[err, result]`; throws on an error. */
export function ok([err, result], what) {
  if (err) throw new Error(`${what}: ${JSON.stringify(err)}`);
  return result;
}

/** The trimmed output of `cmd argv`, or null when it fails. */
export function versionOf(cmd, argv) {
  const out = spawnSync(cmd, argv, { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : null;
}

/** The machine the run is on: CPU, cores, memory, OS. */
export function machine() {
  let osName = `${os.type()} ${os.release()}`;
  try {
    const release = fs.readFileSync('/etc/os-release', 'utf8');
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(release)?.[1];
    if (pretty) osName = `${pretty}, ${os.type()} ${os.release()}`;
  } catch {}
  let cpu = os.cpus()[0]?.model?.trim() || null;
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() || cpu;
  } catch {}
  return { cpu, cores: os.cpus().length, memory_bytes: os.totalmem(), os: osName, arch: os.arch() };
}
