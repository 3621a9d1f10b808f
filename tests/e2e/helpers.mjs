// Shared pieces of the end-to-end tests: the browser, a page that fails on any request to
// another origin, screenshots, accessibility checks.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { startServer } from './server.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'dist');
/** The deployable build (wasm-opt, precompressed): `node scripts/optimise.mjs` writes it. */
export const DEPLOY = join(ROOT, 'dist-deploy');
export const FIXTURE = join(ROOT, 'www', 'sample', 'MedNIST');
export const ARTIFACTS = join(ROOT, 'tests', 'e2e', 'artifacts');
/** The native command the page is compared with (scripts/test.sh builds it). */
// The native command, where scripts/env.sh puts Cargo's target folder (so that a test run
// without it still finds the command the scripts built, not an old one in ./target).
export const CLI = join(
  process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'medclassify', 'target'), 'release', 'medclassify');
mkdirSync(ARTIFACTS, { recursive: true });

const CHROMIUM = process.env.MEDCLASSIFY_CHROMIUM || '/usr/bin/chromium';

/**
 * Headless Chromium with WebGPU on SwiftShader. Fails loudly when it cannot run, or when the
 * build it is for (`dist`, this checkout's dist/ unless a benchmark serves another) is missing.
 */
/** Records that test `t` did not run, and why: the one way an end-to-end test skips (the Rust
 * tests' `common::did_not_run`). The line goes to $MEDCLASSIFY_SKIP_LOG, which scripts/test.sh
 * counts in its last line; under CI=true nothing may skip and the test fails instead. */
/** A new folder `name` in the artifacts: the shipped subset `copies` times over (file `f` as
 *  `<k>-f`; copies are exact duplicates). */
export function fixtureCopies(name, copies) {
  const dir = join(ARTIFACTS, name);
  rmSync(dir, { recursive: true, force: true });
  for (const cls of readdirSync(FIXTURE)) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (const f of readdirSync(join(FIXTURE, cls))) {
      for (let k = 0; k < copies; k++) copyFileSync(join(FIXTURE, cls, f), join(dir, cls, `${k}-${f}`));
    }
  }
  return dir;
}

export function didNotRun(t, why) {
  assert.notEqual(process.env.CI, 'true', `CI runs every check, but ${t.name} could not: ${why}`);
  if (process.env.MEDCLASSIFY_SKIP_LOG) appendFileSync(process.env.MEDCLASSIFY_SKIP_LOG, `${t.name}: ${why}\n`);
  t.skip(why);
}

export async function launch(dist = DIST) {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: run scripts/setup.sh --browser`);
  assert.ok(existsSync(join(dist, 'index.html')), `${dist} is missing: run \`trunk build --release\` (scripts/test.sh does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader',
      '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync',
      '--disable-default-apps', '--disable-domain-reliability', '--no-pings'],
  });
}

/** Serves `root` (dist/ by default) under `prefix`. */
export function serve(prefix = '/', root = DIST) {
  assert.ok(existsSync(join(root, 'index.html')), `${root} is missing: scripts/test.sh e2e builds it`);
  return startServer({ root, prefix });
}

/**
 * A browser context whose every request is checked: anything not on `origin` is blocked and
 * recorded in `foreign`, and the test fails on it at the end (`assertNoForeignRequests`).
 */
export async function newContext(browser, origin, { intercept = true, ...options } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true, ...options });
  // Every wait without its own limit gets a generous one: the tests wait on conditions, and a
  // slow machine makes them slower, not red.
  context.setDefaultTimeout(180_000);
  const foreign = [];
  const errors = [];
  // Intercepting also disables the HTTP cache (a Playwright rule); `intercept: false` keeps the
  // browser's caching, for measuring what a visitor really downloads.
  if (intercept) await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith('blob:') && !url.startsWith('data:')) foreign.push(url);
  });
  context.on('weberror', (error) => errors.push(String(error.error())));
  return { context, foreign, errors };
}

/**
 * How long a page may take to boot (the engine reports its backend). A warm boot takes 2-4 s
 * here; the limit is generous so that a busy machine (another build, the wasm-opt of the
 * deployable build running beside the tests) slows the tests down instead of failing them.
 */
export const BOOT_LIMIT_MS = 300_000;

/** Opens the app and waits for the engine to report its backend. */
export async function openApp(context, url) {
  const page = await context.newPage();
  page.on('worker', (worker) => worker.on('console', (m) => { if (m.type() === 'error') console.log(`[worker] ${m.text().slice(0, 300)}`); }));
  const start = Date.now();
  await page.goto(url);
  await waitForBoot(page);
  console.log(`page booted in ${((Date.now() - start) / 1000).toFixed(1)} s (${url})`);
  return page;
}

/** The page's engine worker (the dedicated worker that runs engine.js), for tests that drill
 * its seams (`helper_failure.test.mjs`, `webgpu_errors.test.mjs`). */
export function engineWorker(page) {
  const found = page.workers().find((w) => /engine\.js/.test(w.url()));
  assert.ok(found, `no engine worker among ${page.workers().map((w) => w.url()).join(', ')}`);
  return found;
}

/** Waits until the engine has reported its backend (after a load or a reload). */
export async function waitForBoot(page) {
  await page.waitForFunction(() => /WebGPU|CPU/.test(document.querySelector('[data-testid=backend]')?.textContent || ''),
    null, { timeout: BOOT_LIMIT_MS, polling: 200 });
}

export function assertNoForeignRequests(foreign) {
  assert.deepEqual(foreign, [], `requests left the page's origin: ${foreign.join(', ')}`);
}

export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** axe-core: no serious or critical violation on the current view. */
export async function assertAccessible(page, label) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`), [],
    `${label}: accessibility violations`);
}

export async function status(page) {
  return (await page.textContent('[data-testid=training-status]')).trim();
}

/** Waits until the training status is one of `values`. */
export async function waitForStatus(page, values, timeout = 600_000) {
  await page.waitForFunction((vals) => vals.includes(document.querySelector('[data-testid=training-status]')?.textContent.trim()),
    values, { timeout, polling: 500 });
  return status(page);
}

export async function notices(page) {
  return (await page.textContent('.notices')) || '';
}

export async function gotoStep(page, id) {
  await page.click(`#tab-${id}`);
  await page.waitForSelector(`[aria-labelledby=${id === 'evaluate' ? 'eval' : id}-title]`);
}

/** Loads the shipped MedNIST subset through the folder input, as a user picking a folder. */
/** The current model's card as the Evaluate step exports it (Markdown); leaves the page on
 * that step. */
export async function modelCard(page) {
  await gotoStep(page, 'evaluate');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=card-markdown]')]);
  return readFileSync(await download.path(), 'utf8');
}

export async function loadFolder(page, dir = FIXTURE) {
  await gotoStep(page, 'data');
  await page.setInputFiles('[data-testid=folder-input]', dir);
  await page.waitForSelector('[data-testid=data-report]', { timeout: 120_000 });
}

export async function setEpochs(page, epochs) {
  await page.fill('[data-testid=epochs-input]', String(epochs));
  await page.press('[data-testid=epochs-input]', 'Tab');
}

/**
 * An init script (`context.addInitScript(countEngineMessages)`): wraps `Worker` so the page
 * counts the engine's messages in `window.__engineMessages` (all, and training events by kind:
 * the engine posts `{Training: {event: {type: 'batch', ...}}}` through serde-wasm-bindgen).
 */
export function countEngineMessages() {
  const counts = { training: 0, all: 0, kinds: {}, first: null };
  window.__engineMessages = counts;
  const Original = window.Worker;
  window.Worker = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        const data = event.data;
        counts.all += 1;
        if (data && typeof data === 'object' && 'Training' in data) {
          counts.training += 1;
          const inner = data.Training && data.Training.event;
          const kind = inner && typeof inner === 'object' ? String(inner.type) : String(inner);
          counts.kinds[kind] = (counts.kinds[kind] || 0) + 1;
          if (!counts.first) counts.first = JSON.stringify(data).slice(0, 300);
        }
      });
    }
  };
}

/** The engine messages counted so far (see `countEngineMessages`). */
export async function engineMessages(page) {
  return page.evaluate(() => JSON.parse(JSON.stringify(window.__engineMessages)));
}

/**
 * Chromium's own cumulative counters of the page's main thread, in seconds: `script` (running
 * JavaScript and WebAssembly) and `task` (every task, rendering included). `cdp` is
 * `await context.newCDPSession(page)` after `cdp.send('Performance.enable')`.
 */
export async function mainThreadSeconds(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (name) => metrics.find((m) => m.name === name)?.value ?? NaN;
  return { script: get('ScriptDuration'), task: get('TaskDuration') };
}

/** The native command's answers (`medclassify predict --json`, one entry per file, in order)
 * for `files` with the model file `model`: the oracle the page's predictions are held to. */
export function nativePredict(model, files) {
  return JSON.parse(execFileSync(CLI, ['predict', '--model', model, '--json', ...files], { maxBuffer: 1 << 26 }).toString());
}

/** (correct, total) of `model` on the test split of `report` (the native `inspect --json` of
 * the folder `root`), counted from the native `predict` on those files against their classes:
 * an oracle apart from the page's own figures (tests/common's test_split_accuracy). */
export function testSplitAccuracy(model, root, report) {
  const test = report.manifest.filter((row) => row.split === 'test');
  const files = test.map((row) => join(root, row.path));
  const rows = nativePredict(model, files);
  const classOf = new Map(test.map((row) => [join(root, row.path), row.class]));
  return [rows.filter((r) => classOf.get(r.path) === r.class).length, test.length];
}

/** Records the engine's word, after each Predict batch, on whether it shared the scoring with
 * a replica on the second core: `"<files> true"` or `"<files> false"`, in order. */
export function recordPredictSharing(page) {
  const said = [];
  const listen = (worker) => worker.on('console', (m) => {
    const match = m.text().match(/predicted (\d+) files, shared with a second core: (\w+)/);
    if (match) said.push(match.slice(1).join(' '));
  });
  page.workers().forEach(listen);
  page.on('worker', listen);
  return said;
}

/** Predict's rows as shown: file, class and percentage of the top class, or the error. */
export async function predictionRows(page) {
  return page.locator('[data-testid=prediction-result] tbody tr').evaluateAll((trs) => trs.map((r) => ({
    file: r.querySelector('.path')?.textContent,
    class: r.querySelector('.bar-label')?.textContent,
    percent: Number(r.querySelector('.bar-value')?.textContent.replace('%', '')),
    error: r.querySelector('.error-text')?.textContent,
  })));
}

/** Each row is the native command's answer (`medclassify predict --json`, one entry per file of
 * `paths`, in order) for its file: the same class, the probability within 0.05 points. */
export function assertRowsAsNative(rows, paths, native) {
  assert.equal(rows.length, paths.length);
  assert.equal(native.length, paths.length);
  rows.forEach((row, i) => {
    const expected = native[i];
    assert.equal(row.file, paths[i].split('/').pop(), `row ${i}`);
    assert.equal(row.class, expected.class, `row ${i} (${paths[i]}): page ${row.class}, native ${expected.class}`);
    assert.ok(Math.abs(row.percent - 100 * expected.probability) <= 0.051, `row ${i}: page ${row.percent}%, native ${100 * expected.probability}%`);
  });
}

/** The page's heatmap (its download) against the native command's (`predict --explain --json`)
 * for the same model and file: the same method, class, size and number of values, both scaled
 * to a maximum of 1 (two empty maps would agree), kept side by side as `ARTIFACTS/<name>.json`.
 * Returns the absolute differences' worst, 98th percentile and L1 sum as a fraction of the
 * command's; each test holds them to its own tolerance. */
export function heatmapDifference(shown, native, name) {
  assert.deepEqual([shown.method, shown.class, shown.size, shown.values.length], [native.method, native.class, native.size, native.values.length], name);
  assert.deepEqual([Math.max(...shown.values), Math.max(...native.values)], [1, 1], `${name}: a map without a maximum of 1`);
  writeFileSync(join(ARTIFACTS, `${name}.json`), JSON.stringify({ page: shown, command: native }));
  const differences = shown.values.map((v, i) => Math.abs(v - native.values[i])).sort((a, b) => a - b);
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  const worst = differences[differences.length - 1];
  const p98 = differences[Math.floor(0.98 * (differences.length - 1))];
  const l1 = sum(differences) / sum(native.values);
  const figures = `worst ${worst.toExponential(2)}, 98th percentile ${p98.toExponential(2)}, L1 ${l1.toExponential(2)}`;
  return { worst, p98, l1, figures };
}
