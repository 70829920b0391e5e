#!/usr/bin/env node
// halo-view-build: the one command that turns a JavaScript view module into
// a halo view component. `halo-view-build view.js -o view.wasm`.

import { parseArgs } from 'node:util';
import { DEFAULT_WIT, WORLDS, build } from '../src/build.js';

const usage = `usage: halo-view-build <view.js> -o <out.wasm> [--wit ${Object.keys(WORLDS).join('|')}] [--wit-dir DIR] [--opt-size]

  <view.js>     a module whose default export is a View (import { View } from 'halo-sdk')
  -o, --out     where to write the component
  --wit         the halo:view version to build against (default ${DEFAULT_WIT}, which today's host loads)
  --wit-dir     the repository's wit/ folder (default: the first one above the SDK)
  --opt-size    QuickJS's size-optimized runtime (smaller; measure the speed before using it)`;

let args;
try {
  args = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      wit: { type: 'string', default: DEFAULT_WIT },
      'wit-dir': { type: 'string' },
      'opt-size': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (err) {
  console.error(`${err.message}\n\n${usage}`);
  process.exit(2);
}
const { values, positionals } = args;
if (values.help) {
  console.log(usage);
  process.exit(0);
}
if (positionals.length !== 1 || !values.out) {
  console.error(usage);
  process.exit(2);
}
const wit = values.wit.replace(/^v/, '').replace(/^(\d+\.\d+)$/, '$1.0');
const started = process.hrtime.bigint();
try {
  const size = await build({
    view: positionals[0],
    out: values.out,
    wit,
    ...(values['wit-dir'] ? { witDir: values['wit-dir'] } : {}),
    optSize: values['opt-size'],
  });
  const ms = Number((process.hrtime.bigint() - started) / 1000000n);
  console.log(`${values.out}: ${size} bytes, halo:view@${wit}, built in ${ms} ms`);
} catch (err) {
  console.error(`halo-view-build: ${positionals[0]}: ${err.message ?? err}`);
  process.exit(1);
}
