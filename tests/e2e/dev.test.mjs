// `halo dev <dir>`: builds the view crates in <dir>, serves them, and on each
// save rebuilds and hot-reloads the one that changed while clients stay
// connected; a compile error is shown with its file and line, and the last
// good build keeps serving.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  REPO,
  VIEW_TARGET_DIR,
  startHalo,
  tempDir,
  connect,
  disconnectAll,
  ok,
  eventually,
  record,
  printLogsOnFailure,
} from './harness.mjs';

/** A cold build compiles the SDK and wit-bindgen for wasm32-wasip2 first. */
const FIRST_BUILD_MS = 15 * 60_000;
/** A rebuild of the view alone, then the host's reload. */
const REBUILD_MS = 3 * 60_000;

/** src/lib.rs of the view: `version` answers `version`; the marker line may be broken on purpose. */
function source(version, marker = '    let _unused = 0;') {
  return `//! A view written by the halo dev end-to-end test.
use halo_sdk::prelude::*;

fn hello() -> View {
    View::new("Hello")
        .defaults(json!({ "greeting": "hello" }))
        .routes([Create, Read, Update, List])
        .on("version", |_req| {
${marker}
            Ok(json!(${JSON.stringify(version)}))
        })
}

halo_sdk::export_view!(hello);
`;
}

/**
 * src/lib.rs of a second view crate, `marker-dev`: a save of it shows when
 * halo dev has dealt with the changes made before it.
 */
function markerSource(version) {
  return `//! A second view of the halo dev end-to-end test.
use halo_sdk::prelude::*;

fn marker() -> View {
    View::new("Marker")
        .routes([List])
        .on("version", |_req| Ok(json!(${JSON.stringify(version)})))
}

halo_sdk::export_view!(marker);
`;
}

/** The 1-based line of `marker` in `text`. */
function lineOf(text, marker) {
  return text.split('\n').indexOf(marker) + 1;
}

function writeCrate(dir) {
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'marker', 'src'), { recursive: true });
  const sdk = path.join(REPO, 'plugins', 'sdk').replaceAll('\\', '/');
  const manifest = (name) => `[package]
name = "${name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
halo-sdk = { path = ${JSON.stringify(sdk)} }
`;
  fs.writeFileSync(
    path.join(dir, 'Cargo.toml'),
    `${manifest('hello-dev')}
# A workspace of its own, not a member of one further up.
[workspace]
members = ["marker"]
`
  );
  fs.writeFileSync(path.join(dir, 'marker', 'Cargo.toml'), manifest('marker-dev'));
  fs.writeFileSync(path.join(dir, 'marker', 'src', 'lib.rs'), markerSource('one'));
  // The versions the repository's views are built and tested with, and no
  // registry lookup.
  fs.copyFileSync(path.join(REPO, 'plugins', 'Cargo.lock'), path.join(dir, 'Cargo.lock'));
  fs.writeFileSync(path.join(dir, 'src', 'lib.rs'), source('one'));
}

let crate;
let halo;
let client;
let disconnects;
let firstId;

before(async () => {
  crate = await tempDir('halo-dev-crate-');
  writeCrate(crate);
  halo = await startHalo({
    command: ['dev', crate],
    env: { CARGO_TARGET_DIR: VIEW_TARGET_DIR },
    readyTimeoutMs: FIRST_BUILD_MS,
  });
  client = await connect(halo.url);
  disconnects = record(client, 'disconnect');
  firstId = client.id;
});

after(async () => {
  disconnectAll();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

function assertSameConnection() {
  assert.equal(client.connected, true, 'the client is still connected');
  assert.equal(client.id, firstId, 'on the same socket');
  assert.deepEqual(disconnects.payloads, [], 'without a disconnect');
}

test('halo dev builds the crate and serves its view', async () => {
  assert.match(halo.logs(), /building hello-dev…/);
  assert.match(halo.logs(), /built hello-dev in \d+\.\ds/);
  assert.equal(await ok(client, 'Hello:version'), 'one');
  const model = await ok(client, 'Hello:create', { name: 'first' });
  assert.equal(model.greeting, 'hello');
});

test('a save rebuilds and reloads the view; the client stays connected', async () => {
  const lib = path.join(crate, 'src', 'lib.rs');
  fs.writeFileSync(lib, source('two').replace('"greeting": "hello"', '"greeting": "hi"'));
  await eventually(async () => assert.equal(await ok(client, 'Hello:version'), 'two'), REBUILD_MS, 250);
  assert.match(halo.logs(), /built hello-dev in \d+\.\ds → reloading/);
  const model = await ok(client, 'Hello:create', { name: 'second' });
  assert.equal(model.greeting, 'hi', 'the new defaults apply');
  assert.equal((await ok(client, 'Hello:list')).length, 2, 'the data stays');
  assertSameConnection();
});

test('a compile error is shown with its file and line; the last build keeps serving until a fix', async () => {
  const lib = path.join(crate, 'src', 'lib.rs');
  const broken = '    let broken: u32 = "not a number";';
  const text = source('three', broken);
  const mark = halo.logs().length;
  fs.writeFileSync(lib, text);
  await eventually(
    () => assert.match(halo.logs().slice(mark), /hello-dev failed to build; still serving the previous build/),
    REBUILD_MS,
    250
  );
  const output = halo.logs().slice(mark);
  assert.match(output, /error\[E0308\]: mismatched types/);
  assert.match(output, new RegExp(`src[\\\\/]lib\\.rs:${lineOf(text, broken)}:\\d+`), 'the file and line of the error');
  assert.equal(await ok(client, 'Hello:version'), 'two', 'the previous build still answers');

  fs.writeFileSync(lib, source('three').replace('"greeting": "hello"', '"greeting": "hi"'));
  await eventually(async () => assert.equal(await ok(client, 'Hello:version'), 'three'), REBUILD_MS, 250);
  assertSameConnection();
});

test('files that are not sources, and the build output, rebuild nothing', async () => {
  const mark = halo.logs().length;
  fs.writeFileSync(path.join(crate, 'README.md'), 'notes\n');
  fs.writeFileSync(path.join(crate, 'src', 'lib.rs~'), 'an editor backup\n');
  fs.mkdirSync(path.join(crate, 'target', 'scratch'), { recursive: true });
  fs.writeFileSync(path.join(crate, 'target', 'scratch', 'gen.rs'), '// build output\n');
  // A save of the other crate, after those files. Had they counted, hello-dev
  // would be built before marker-dev is done: in an earlier round, or in the
  // same one, where crates build in name order.
  fs.writeFileSync(path.join(crate, 'marker', 'src', 'lib.rs'), markerSource('two'));
  await eventually(() => assert.match(halo.logs().slice(mark), /built marker-dev in \d+\.\ds → reloading/), REBUILD_MS, 250);
  assert.doesNotMatch(halo.logs().slice(mark), /building hello-dev/);
  await eventually(async () => assert.equal(await ok(client, 'Marker:version'), 'two'), 5000);
  assert.equal(await ok(client, 'Hello:version'), 'three');
  assertSameConnection();
});
