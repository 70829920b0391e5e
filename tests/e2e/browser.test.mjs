// The demo apps in headless Chromium (Debian's, driven by playwright-core),
// the way people try a real-time framework: two windows side by side.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { REPO, startHalo, printLogsOnFailure } from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.join(REPO, 'build', 'screenshots');
/**
 * How long a change may take to show in another window before the test
 * fails instead of hanging: a bound, not a latency target (the benchmark
 * measures latency).
 */
const WAIT = 5000;

let halo;
let browser;

before(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (make setup does), or set CHROMIUM`);
  }
  halo = await startHalo({
    plugins: ['todos'],
    tenants: {
      demo: {
        plugins: ['notes'],
        toml: '[auth]\nalgorithm = "HS256"\nsecret = "browser test secret"\naudience = "demo"\n',
      },
    },
    args: ['--demo-tenant', 'demo'],
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await halo?.stop();
});

printLogsOnFailure(() => halo);

async function open(url) {
  const page = await browser.newPage({ viewport: { width: 640, height: 560 } });
  await page.goto(url);
  await page.locator('.status[data-state="online"]').waitFor();
  return page;
}

const titles = (page) => page.locator('.todo-list li label').allTextContents();

async function expectTitles(page, expected, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const now = await titles(page);
    if (JSON.stringify(now) === JSON.stringify(expected)) return;
    if (Date.now() > deadline) assert.deepEqual(now, expected);
    await page.waitForTimeout(25);
  }
}

async function add(page, title) {
  await page.fill('.new-todo', title);
  await page.press('.new-todo', 'Enter');
}

test('todos: what one window does appears in the other', async () => {
  const [a, b] = [await open(`${halo.url}/demo/todos`), await open(`${halo.url}/demo/todos`)];
  await add(a, 'buy milk');
  await add(a, 'write docs');
  await expectTitles(b, ['buy milk', 'write docs']);

  // Edit in b.
  await b.dblclick('.todo-list li:nth-child(1) label');
  await b.fill('.todo-list li:nth-child(1) .edit', 'buy oat milk');
  await b.press('.todo-list li:nth-child(1) .edit', 'Enter');
  await expectTitles(a, ['buy oat milk', 'write docs']);

  // Complete in a.
  await a.check('.todo-list li:nth-child(2) .toggle');
  await b.locator('.todo-list li.completed label', { hasText: 'write docs' }).waitFor({ timeout: WAIT });
  assert.equal(await b.locator('.todo-count').textContent(), '1 item left');

  // Delete in b, then clear completed in a.
  await add(b, 'call mum');
  await expectTitles(a, ['buy oat milk', 'write docs', 'call mum']);
  await b.click('.todo-list li:nth-child(3) .destroy');
  await expectTitles(a, ['buy oat milk', 'write docs']);
  await a.screenshot({ path: path.join(SHOTS, 'todos.png') });
  await a.click('.clear-completed');
  await expectTitles(b, ['buy oat milk']);

  // Reloaded, a page shows what is stored.
  await b.reload();
  await b.locator('.status[data-state="online"]').waitFor();
  await expectTitles(b, ['buy oat milk']);
  await a.close();
  await b.close();
});

test('todos: both windows ride out a server restart, and a todo added meanwhile shows up once in both', async () => {
  const [a, b] = [await open(`${halo.url}/demo/todos`), await open(`${halo.url}/demo/todos`)];
  const before = await titles(a);
  await halo.stop();
  await a.locator('.status[data-state="offline"]').waitFor();
  await b.locator('.status[data-state="offline"]').waitFor();
  await add(a, 'added while down');
  await halo.restart();
  await a.locator('.status[data-state="online"]').waitFor({ timeout: 15_000 });
  await b.locator('.status[data-state="online"]').waitFor({ timeout: 15_000 });
  await expectTitles(a, [...before, 'added while down'], 5000);
  await expectTitles(b, [...before, 'added while down'], 5000);
  await a.close();
  await b.close();
});

test('notes: a note shared with bob appears for him live; alice’s private one never does', async () => {
  const alice = await browser.newPage({ viewport: { width: 640, height: 480 } });
  const bob = await browser.newPage({ viewport: { width: 640, height: 480 } });
  for (const [page, user] of [[alice, 'alice'], [bob, 'bob']]) {
    await page.goto(`${halo.url}/demo/notes`);
    await page.click(`.signin button[data-user="${user}"]`);
    await page.locator('.status[data-state="online"]').waitFor();
    assert.match(await page.locator('.status').textContent(), /signed token/);
  }
  // Only the demo users get tokens, and only signed ones get in.
  assert.equal((await fetch(`${halo.url}/demo/token/mallory`)).status, 404);
  await alice.fill('.new-note .text', 'for bob too');
  await alice.check('.new-note .share');
  await alice.click('.new-note button');
  await bob.locator('.note-list li .text', { hasText: 'for bob too' }).waitFor({ timeout: WAIT });

  await alice.fill('.new-note .text', 'alice only');
  await alice.uncheck('.new-note .share');
  await alice.click('.new-note button');
  await alice.locator('.note-list li .text', { hasText: 'alice only' }).waitFor({ timeout: WAIT });
  // A note alice shares after it: pushes reach bob in commit order, so once
  // he has this one, he has had whatever the private one sent him.
  await alice.fill('.new-note .text', 'for bob again');
  await alice.check('.new-note .share');
  await alice.click('.new-note button');
  await bob.locator('.note-list li .text', { hasText: 'for bob again' }).waitFor({ timeout: WAIT });
  assert.deepEqual(await bob.locator('.note-list li .text').allTextContents(), ['for bob too', 'for bob again']);
  // Not after a reload either.
  await bob.reload();
  await bob.click('.signin button[data-user="bob"]');
  await bob.locator('.note-list li').first().waitFor({ timeout: WAIT });
  assert.deepEqual((await bob.locator('.note-list li .text').allTextContents()).sort(), ['for bob again', 'for bob too']);
  await alice.screenshot({ path: path.join(SHOTS, 'notes-alice.png') });
  await bob.screenshot({ path: path.join(SHOTS, 'notes-bob.png') });
});

test('the front page shows each view live: a model created in one window appears in the other; a refusal shows its error', async () => {
  const explore = async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    await page.goto(halo.url);
    await page.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 5000 });
    return page;
  };
  const [a, b] = [await explore(), await explore()];
  const section = (page) => page.locator('section[data-view="Todos"]');
  await section(a).locator('input[name=json]').fill('{"title": "from the front page"}');
  await section(a).locator('button', { hasText: 'create' }).click();
  await section(b).locator('tbody tr', { hasText: 'from the front page' }).waitFor({ timeout: WAIT });
  assert.match(await section(b).locator('tbody').innerText(), /"completed":false/);

  await section(a).locator('input[name=json]').fill('{"title": "   "}');
  await section(a).locator('button', { hasText: 'create' }).click();
  await section(a).locator('.error', { hasText: 'invalid: title must not be empty' }).waitFor({ timeout: WAIT });

  await section(b).locator('tbody tr', { hasText: 'from the front page' }).locator('button', { hasText: 'delete' }).click();
  await section(a).locator('tbody tr', { hasText: 'from the front page' }).waitFor({ state: 'detached', timeout: WAIT });
  await a.screenshot({ path: path.join(SHOTS, 'front-page.png') });
  await Promise.all([a.close(), b.close()]);
});
