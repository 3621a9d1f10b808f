// The page survives any single file. A decoder that panics on a crafted file aborts the worker
// it runs in (a panic in wasm is an abort); the page decodes on helper workers, and a file
// that stops a helper is tried again alone in a fresh helper and then listed as unreadable,
// while the rest of the load (or of the predictions) goes on and the engine keeps its model.
// The crafted file is the project's crash drill (`CRASH_DRILL` in src/web/worker/decoder.rs):
// only a decoding helper panics on it; to the native command it is a file that is not an image,
// so the native report of the same folder is the oracle for what the page must have loaded.
// A file named like an image but over the 64 MB limit is refused from a bounded read.
// A container (archive or .npz) is read by the engine itself: one that stops it is named, the
// engine restarts, and the next load works (the drill `CONTAINER_DRILL`, src/web/worker/engine).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import {
  fixtureCopies, ARTIFACTS, CLI, FIXTURE, ROOT, assertNoForeignRequests, assertRowsAsNative, gotoStep, launch, newContext, notices, openApp,
  nativePredict, predictionRows, serve, shot,
} from './helpers.mjs';

const DRILL = Buffer.from('MedClassify crash drill: this file stops a decoding helper\n');
const CONTAINER_DRILL = Buffer.from('MedClassify crash drill: this container stops the engine\n');
/** Over the 64 MiB (67 MB) limit: a PNG signature and zeros. */
const HUGE_BYTES = 70_000_000;

function drill(path) {
  writeFileSync(path, Buffer.concat([DRILL, Buffer.alloc(4096, 7)]));
}

function huge(path) {
  const bytes = Buffer.alloc(HUGE_BYTES);
  Buffer.from('89504e470d0a1a0a', 'hex').copy(bytes);
  writeFileSync(path, bytes);
}

/** The shipped subset `copies` times over, two drill files and one huge file. */
function crashFolder(name, copies) {
  const dir = fixtureCopies(name, copies);
  drill(join(dir, 'Hand', '1-zz-drill.jpeg'));
  drill(join(dir, 'CXR', '0-aa-drill.png'));
  huge(join(dir, 'ChestCT', '0-huge.png'));
  return dir;
}

/** Loads `dir` in the page and checks the report against the native command's. */
async function loadAndCompare(page, dir) {
  const native = JSON.parse(execFileSync(CLI, ['inspect', dir, '--json'], { maxBuffer: 1 << 28 }).toString());
  assert.equal(native.skipped.length, 3, 'the native command skips the drills and the huge file');
  const files = native.images + native.skipped.length;
  await gotoStep(page, 'data');
  await page.setInputFiles('[data-testid=folder-input]', dir);
  await page.waitForFunction((n) => (document.querySelector('[data-testid=data-report]')?.textContent || '').includes(`${n} images`), native.images, { timeout: 300_000 });
  const report = await page.textContent('[data-testid=data-report]');
  assert.ok(report.includes(`Manifest SHA-256 ${native.manifest_sha256.slice(0, 16)}`), `the page's manifest differs from the native ${native.manifest_sha256}`);
  await page.click('[data-testid=skipped-files] summary');
  const skipped = await page.textContent('[data-testid=skipped-files]');
  for (const file of ['Hand/1-zz-drill.jpeg', 'CXR/0-aa-drill.png']) {
    assert.match(skipped, new RegExp(`${file.replace('.', '\\.')}\\s*unreadable: the decoder stopped on this file`), `${file} is named as the file that stopped the decoder`);
  }
  assert.match(skipped, /ChestCT\/0-huge\.png\s*too large: file is 70 MB; the limit is 67 MB/);
  // Positive control: the drills did stop helpers (the pool counts what it replaced), and both
  // are blamed, no other file.
  const said = await notices(page);
  const stops = said.match(new RegExp(`a decoding helper stopped (\\d+) time\\(s\\) during the load of ${files} files and was replaced; 2 file\\(s\\) that stopped one on their own are listed as unreadable`));
  assert.ok(stops, said);
  // The drills sit in chunks of many files: their chunk's helper stops (once, or once each),
  // then each drill alone stops the helper it is retried on: at least three stops.
  assert.ok(Number(stops[1]) >= 3, `${stops[1]} stops for two drills`);
  assert.doesNotMatch(said, /engine stopped unexpectedly/);
  return native;
}

test('a file that stops a decoder is named and the load, the predictions and the engine go on', { timeout: 600_000 }, async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: cargo build --release`);
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  const small = crashFolder('crash-small', 1);
  const large = crashFolder('crash-large', 3);
  try {
    const page = await openApp(context, server.url);
    await gotoStep(page, 'predict');
    await page.waitForFunction(() => /bundled ready model/.test(document.querySelector('[data-testid=model-info]')?.textContent || ''), null, { timeout: 60_000 });

    // A small load (one helper) and a large one (one helper per core).
    const smallReport = await loadAndCompare(page, small);
    const largeReport = await loadAndCompare(page, large);
    assert.ok(smallReport.images < 512 && largeReport.images + 3 >= 512);
    await shot(page, 'crash-proof-report');

    // Predict: a drill, two images and the huge file, with the ready model the engine kept.
    await gotoStep(page, 'predict');
    assert.match(await page.textContent('[data-testid=model-info]'), /bundled ready model/);
    const images = [join(FIXTURE, 'Hand', '000000.jpeg'), join(FIXTURE, 'ChestCT', readdirSync(join(FIXTURE, 'ChestCT'))[0])];
    const nativeRows = nativePredict(join(ROOT, 'www', 'models', 'seed-mednist.mcmodel'), images);
    await page.setInputFiles('[data-testid=predict-input]', [join(small, 'Hand', '1-zz-drill.jpeg'), images[0], join(small, 'ChestCT', '0-huge.png'), images[1]]);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction-result] tbody tr').length === 4, null, { timeout: 120_000 });
    const rows = await page.locator('[data-testid=prediction-result] tbody tr').allTextContents();
    assert.match(rows[0], /1-zz-drill\.jpeg.*cannot classify: unreadable: the decoder stopped on this file/);
    assert.match(rows[2], /0-huge\.png.*cannot classify: too large: file is 70 MB; the limit is 67 MB/);
    // The two good images: the top class and its probability as the native command's (a row
    // lists three classes, so "the row names the class" would pass a wrong top class).
    const shown = await predictionRows(page);
    assertRowsAsNative([shown[1], shown[3]], images, nativeRows);
    assert.doesNotMatch(await notices(page), /engine stopped unexpectedly/);
    await shot(page, 'crash-proof-predict');
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
    rmSync(small, { recursive: true, force: true });
    rmSync(large, { recursive: true, force: true });
  }
});

test('a container that stops the engine is named, the engine restarts, and the next load works', { timeout: 300_000 }, async () => {
  // The engine reads archives and .npz files itself: a crafted one that stops it (the drill,
  // `CONTAINER_DRILL` in src/web/worker/engine/mod.rs) must be named, and a restarted engine
  // must load the next file. Positive control: the same bytes without the drill's first line
  // are refused by the engine's own reader with the file's name, and nothing stops.
  const dir = join(ARTIFACTS, 'crash-containers');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const junk = Buffer.alloc(4096, 7);
  writeFileSync(join(dir, 'plain-junk.zip'), junk);
  writeFileSync(join(dir, 'crafted.zip'), Buffer.concat([CONTAINER_DRILL, junk]));
  writeFileSync(join(dir, 'crafted.npz'), Buffer.concat([CONTAINER_DRILL, junk]));
  const zip = join(dir, 'fixture.zip');
  execFileSync('python3', ['-m', 'zipfile', '-c', zip, 'MedNIST'], { cwd: dirname(FIXTURE) });
  const native = JSON.parse(execFileSync(CLI, ['inspect', FIXTURE, '--json']).toString());
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  // Read at once: after a crash the page shows no report, and a locator would wait for one.
  const report = () => page.evaluate(() => document.querySelector('[data-testid=data-report]')?.textContent ?? '');
  let page;
  try {
    page = await openApp(context, server.url);
    await page.click('[data-testid=sample-data]');
    await page.waitForFunction(() => /images in 6 classes/.test(document.querySelector('[data-testid=data-report]')?.textContent ?? ''));

    // The control: refused by name by a live engine, the sample's data set kept.
    await page.setInputFiles('[data-testid=archive-input]', join(dir, 'plain-junk.zip'));
    await page.waitForFunction(() => /plain-junk\.zip: /.test(document.querySelector('.notices')?.textContent ?? ''), null, { timeout: 60_000 });
    assert.doesNotMatch(await notices(page), /stopped unexpectedly/);
    assert.match(await report(), /images in 6 classes/, 'a refused file keeps the data set');

    // The drill, as an archive and as an .npz: each named, the engine restarted each time.
    for (const [input, name] of [['archive-input', 'crafted.zip'], ['npz-input', 'crafted.npz']]) {
      const picked = Date.now();
      await page.setInputFiles(`[data-testid=${input}]`, join(dir, name));
      const said = new RegExp(`${name.replace('.', '\\.')}: the engine stopped unexpectedly while reading this file`);
      await page.waitForFunction((source) => new RegExp(source).test(document.querySelector('.notices')?.textContent ?? ''), said.source, { timeout: 60_000 });
      assert.doesNotMatch(await report(), /images in 6 classes/, 'the engine\'s data set went with it, and the page no longer shows it');
      console.log(`${name}: named after ${((Date.now() - picked) / 1000).toFixed(1)} s`);
      await shot(page, `crash-proof-container-${name.replace('.', '-')}`);
    }

    // The restarted engine loads the real archive like its folder.
    const picked = Date.now();
    await page.setInputFiles('[data-testid=archive-input]', zip);
    await page.waitForFunction(() => /images in 6 classes/.test(document.querySelector('[data-testid=data-report]')?.textContent ?? ''), null, { timeout: 120_000 });
    assert.match(await report(), new RegExp(`${native.images} images in 6 classes from ${native.files_seen} files`));
    console.log(`the archive after two restarts: loaded in ${((Date.now() - picked) / 1000).toFixed(1)} s`);
    await shot(page, 'crash-proof-container-after');

    // A page that keeps stopping its engine does not restart it in a loop: the third restart
    // is the last, and the fourth stop says so.
    await page.evaluate(() => document.querySelectorAll('.notices button').forEach((b) => b.click()));
    await page.setInputFiles('[data-testid=archive-input]', join(dir, 'crafted.zip'));
    await page.waitForFunction(() => /crafted\.zip: the engine stopped unexpectedly/.test(document.querySelector('.notices')?.textContent ?? ''), null, { timeout: 60_000 });
    await page.setInputFiles('[data-testid=archive-input]', join(dir, 'crafted.zip'));
    await page.waitForFunction(() => /stopped 4 times on this page: it is not restarted again/.test(document.querySelector('.notices')?.textContent ?? ''), null, { timeout: 60_000 });
    await page.click('[data-testid=sample-data]');
    await page.waitForFunction(() => /the engine is not running: reload the page/.test(document.querySelector('.notices')?.textContent ?? ''), null, { timeout: 10_000 });
    await shot(page, 'crash-proof-container-not-restarted');
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
