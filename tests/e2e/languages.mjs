// The same view written in Rust, JavaScript and Python, served so that one
// script can run against each build: every build in a halo of its own (the
// views share their names). Rust builds come from HALO_WASM_DIR, the
// JavaScript and Python ones from `make views` (HALO_VIEWS_DIR, default
// build/views).

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { REPO, startHalo, tempDir, sleep } from './harness.mjs';

const WASM_DIR = path.resolve(REPO, process.env.HALO_WASM_DIR || 'plugins/target/wasm32-wasip2/release');
export const VIEWS_DIR = path.resolve(REPO, process.env.HALO_VIEWS_DIR || 'build/views');

/** How long a view dropped into a running halo may take to load: a Python view compiles for seconds. */
const LOAD_TIMEOUT_MS = 120_000;

/** Where a build is: `rust/<name>` in HALO_WASM_DIR, anything else in HALO_VIEWS_DIR. */
function locate(build) {
  return build.startsWith('rust/') ? path.join(WASM_DIR, `${build.slice(5)}.wasm`) : path.join(VIEWS_DIR, `${build}.wasm`);
}

/**
 * The languages to run a script against: `{label, builds, skip}`, where
 * `builds` maps each view name to its build and `skip` says why the builds
 * are missing (false when they are there).
 */
export function languages(table) {
  return table.map(({ label, builds }) => {
    const missing = Object.values(builds)
      .map(locate)
      .filter((file) => !fs.existsSync(file));
    const skip = missing.length > 0 && `not built: ${missing.join(', ')} (make plugins views)`;
    return { label, builds, skip };
  });
}

/** Waits until `halo` logs `view` loaded; fails at once with halo's reason if it refuses a file. */
async function loaded(halo, view) {
  const deadline = Date.now() + LOAD_TIMEOUT_MS;
  const done = new RegExp(`view loaded[^\\n]* view=${view} `);
  while (!done.test(halo.logs())) {
    const refused = /view refused[^\n]*/.exec(halo.logs());
    if (refused) throw new Error(`${view} was refused: ${refused[0]}`);
    if (Date.now() > deadline) throw new Error(`${view} did not load within ${LOAD_TIMEOUT_MS} ms:\n${halo.logs()}`);
    await sleep(50);
  }
}

/**
 * Starts a halo, drops `builds` (view name → build) into its plugins folder
 * and waits until it has loaded every view.
 */
export async function serveBuilds(builds) {
  const halo = await startHalo();
  try {
    for (const [view, build] of Object.entries(builds)) {
      // Copied aside, then moved in one step, as a deploy would.
      const aside = path.join(await tempDir('halo-build-'), `${view}.wasm`);
      await fsp.copyFile(locate(build), aside);
      await fsp.rename(aside, path.join(halo.pluginsDir, `${view}.wasm`));
    }
    for (const view of Object.keys(builds)) await loaded(halo, view);
  } catch (err) {
    // The caller gets no server to stop.
    await halo.stop();
    throw err;
  }
  return halo;
}
