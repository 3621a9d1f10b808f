// The benchmark harness pages load their peer libraries: TensorFlow.js under the bench server's
// harness policy (bench/harness.mjs) initialises with its four backends, as bench/run.mjs needs
// it; under the product's policy it cannot (the positive control: this is how the TF.js rows
// once stopped, silently). ONNX Runtime Web (bench/inference.mjs) creates a session of
// MedClassify's own ONNX export and runs it on two threads, which needs the harness's
// cross-origin isolation. A benchmark's record never overwrites an earlier one
// (bench/record.mjs). Seconds, not a benchmark.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { harnessHeaders } from '../../bench/harness.mjs';
import { writeRecord } from '../../bench/record.mjs';
import { ARTIFACTS, CLI, ROOT, launch, nativePredict } from './helpers.mjs';
import { startServer } from './server.mjs';

const TFJS = join(ROOT, 'bench', 'node_modules', '@tensorflow', 'tfjs', 'dist', 'tf.min.js');

async function tfjsState(browser, headersFor) {
  const server = await startServer({ root: ROOT, prefix: '/', headersFor });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${server.url}bench/page/tfjs.html`);
    await page.waitForLoadState('load');
    const state = await page.evaluate(async () => ({
      setBackend: typeof globalThis.tf?.setBackend === 'function',
      backends: globalThis.tf?.engine ? Object.keys(tf.engine().registryFactory).sort() : [],
      harness: typeof globalThis.runBench === 'function',
      cpu: globalThis.tf?.setBackend ? await tf.setBackend('cpu').then(() => tf.tensor([1, 2]).sum().dataSync()[0]) : null,
    }));
    return { ...state, errors };
  } finally {
    await page.close();
    await server.close();
  }
}

test('the TensorFlow.js harness initialises under its own policy, and not under the product\'s', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(TFJS), 'bench/node_modules is missing: scripts/setup.sh --browser installs it (npm ci in bench/)');
  const browser = await launch();
  try {
    const harness = await tfjsState(browser, harnessHeaders);
    assert.deepEqual(harness.errors, []);
    assert.equal(harness.setBackend, true, 'tf.setBackend exists');
    assert.deepEqual(harness.backends, ['cpu', 'wasm', 'webgl', 'webgpu']);
    assert.equal(harness.harness, true, 'the harness script ran');
    assert.equal(harness.cpu, 3, 'a tensor computes on the cpu backend');
    const product = await tfjsState(browser, () => ({}));
    assert.equal(product.setBackend, false, "under the product's policy TF.js must not start (else the harness test proves nothing)");
    assert.ok(product.errors.some((e) => /unsafe-eval|EvalError|Content Security Policy/i.test(e)), product.errors.join(' | '));
  } finally {
    await browser.close();
  }
});

const ORT = join(ROOT, 'bench', 'node_modules', 'onnxruntime-web', 'dist', 'ort.all.min.js');

/** bench/page/ort.js's deterministic input pixels (its generator, written again). */
function harnessPixels(count) {
  const values = [];
  let state = 12345;
  for (let i = 0; i < count; i += 1) {
    state = (state * 1103515245 + 12345) >>> 0;
    values.push((state >>> 16) % 256);
  }
  return values;
}

/** A 24-bit BMP of `side` x `side` gray `values` (rows top to bottom). */
function grayBmp(values, side) {
  const row = side * 3 + ((4 - ((side * 3) % 4)) % 4);
  const bytes = Buffer.alloc(54 + row * side);
  bytes.write('BM', 0, 'latin1');
  bytes.writeUInt32LE(bytes.length, 2);
  bytes.writeUInt32LE(54, 10);
  bytes.writeUInt32LE(40, 14);
  bytes.writeInt32LE(side, 18);
  bytes.writeInt32LE(side, 22);
  bytes.writeUInt16LE(1, 26);
  bytes.writeUInt16LE(24, 28);
  bytes.writeUInt32LE(row * side, 34);
  for (let y = 0; y < side; y += 1) {
    for (let x = 0; x < side; x += 1) {
      const at = 54 + (side - 1 - y) * row + x * 3;
      bytes.fill(values[y * side + x], at, at + 3);
    }
  }
  return bytes;
}

/** The ONNX Runtime Web harness run once on `threads` threads, under `headersFor`. */
async function ortRun(browser, headersFor, modelUrl, threads) {
  const server = await startServer({ root: ROOT, prefix: '/', headersFor });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${server.url}bench/page/ort.html`);
    const result = await page.evaluate((args) => window.runOrt(args), { modelUrl, threads, batch: 2, warmup: 1, runs: 1 });
    return { ...result, errors };
  } finally {
    await page.close();
    await server.close();
  }
}

test('the ONNX Runtime Web harness runs MedClassify\'s export on two threads, cross-origin isolated', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(ORT), 'bench/node_modules is missing onnxruntime-web: scripts/setup.sh --browser installs it (npm ci in bench/)');
  mkdirSync(ARTIFACTS, { recursive: true });
  const onnx = join(ARTIFACTS, 'harness-seed.onnx');
  execFileSync(CLI, ['export-onnx', '--model', join(ROOT, 'www', 'models', 'seed-mednist.mcmodel'), '--out', onnx]);
  const modelUrl = '/tests/e2e/artifacts/harness-seed.onnx';
  const browser = await launch();
  try {
    const harness = await ortRun(browser, harnessHeaders, modelUrl, 2);
    assert.equal(harness.error, undefined, harness.error);
    assert.deepEqual(harness.errors, []);
    assert.equal(harness.isolated, true, 'the harness page is cross-origin isolated (COOP and COEP)');
    assert.equal(harness.logits.length, 6);
    assert.ok(harness.logits.every(Number.isFinite) && harness.imagesPerSecond > 0, JSON.stringify(harness));
    // What it computed is the network: the harness's first input image (its pixels made again
    // here, written as a BMP) gets from the native command the class and probability that
    // ONNX Runtime Web's first output (the export's logits, softmaxed here) gives it.
    assert.equal(harness.inputSide, 32, 'the bundled model takes 32 px gray images');
    const image = join(ARTIFACTS, 'harness-input.bmp');
    writeFileSync(image, grayBmp(harnessPixels(32 * 32), 32));
    const [native] = nativePredict(join(ROOT, 'www', 'models', 'seed-mednist.mcmodel'), [image]);
    const best = harness.logits.indexOf(Math.max(...harness.logits));
    const classes = ['AbdomenCT', 'BreastMRI', 'CXR', 'ChestCT', 'Hand', 'HeadCT'];
    assert.equal(classes[best], native.class, `ONNX Runtime Web ${JSON.stringify(harness.logits)}, native ${JSON.stringify(native)}`);
    const sum = harness.logits.reduce((total, logit) => total + Math.exp(logit - harness.logits[best]), 0);
    const probability = 1 / sum;
    assert.ok(Math.abs(probability - native.probability) < 1e-4, `ONNX Runtime Web ${probability}, native ${native.probability}`);
    // Without the harness's headers the page is not isolated, and two threads cannot start:
    // the check above can fail.
    const product = await ortRun(browser, () => ({}), modelUrl, 2);
    assert.notEqual(product.isolated, true, JSON.stringify(product));
  } finally {
    await browser.close();
  }
});

test('a second record of the same name is written beside the first, not over it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'records-'));
  const stem = join(dir, 'results', 'speed-2026-12-06-abc1234');
  const paths = [1, 2, 3].map((run) => writeRecord(stem, { run }));
  assert.deepEqual(paths, [`${stem}.json`, `${stem}-run2.json`, `${stem}-run3.json`]);
  assert.deepEqual(paths.map((p) => JSON.parse(readFileSync(p, 'utf8')).run), [1, 2, 3]);
});
