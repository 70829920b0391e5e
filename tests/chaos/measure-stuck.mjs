// Measures what two subscribers that stop reading cost the host under
// 100 KiB pushes: `node tests/chaos/measure-stuck.mjs` with HALO_BIN set.
// Prints RSS before, after the pushes, and whether they are still connected.
// A measurement to compare builds with, not a test.

import { startHalo } from '../e2e/harness.mjs';
import { rawSocket, rawCall, haloPid, usage, connections } from './raw.mjs';

const PUSH = 'p'.repeat(100 * 1024);
const halo = await startHalo({ plugins: ['my_models'] });
const pid = haloPid(halo.port);
const writer = await rawSocket(halo.url);
const reader = await rawSocket(halo.url);
await rawCall(reader, 1, 'MyModels:list', []);
for (let i = 0; i < 20; i++) await rawCall(writer, 100 + i, 'MyModels:create', { i, data: PUSH });
reader.ws.close();
await new Promise((resolve) => setTimeout(resolve, 500));
const before = usage(pid);
const stuck = [];
for (let i = 0; i < 2; i++) {
  const raw = await rawSocket(halo.url);
  await rawCall(raw, 1, 'MyModels:list', []);
  raw.ws._socket.pause();
  stuck.push(raw);
}
for (let i = 0; i < 200; i++) await rawCall(writer, 200 + i, 'MyModels:create', { i, data: PUSH });
const during = usage(pid);
const mib = (n) => (n / 2 ** 20).toFixed(1);
console.log(`RSS before ${mib(before.rss)} MiB; after 200 pushes of 100 KiB with 2 stuck subscribers ${mib(during.rss)} MiB: ` +
  `${mib((during.rss - before.rss) / 2)} MiB per stuck subscriber; connections now ${await connections(halo.url)} (writer included)`);
await halo.stop();
process.exit(0);
