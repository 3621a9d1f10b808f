// Backbone inference at 224 px in the browser, side by side in one run and one browser:
// MedClassify's page (EfficientNet-Lite0's frozen backbone computing the features of a
// head-only run on the CPU, as a user starts it) and ONNX Runtime Web (npm onnxruntime-web,
// its wasm with SIMD, on 1 and on 2 threads) running MedClassify's own ONNX export of the same
// network on batches of the same size (issue 25, item 7: speed).
//
//   node bench/inference.mjs [LABEL]
//
// Needs the release build (cargo build --release ... --features cli; trunk build --release),
// the weights (scripts/weights.sh) and bench/node_modules (npm ci in bench/). Writes
// bench/results/inference-224-LABEL.json. WebGPU rows are left out on a machine whose adapter is
// a software emulation (SwiftShader): they would time the emulation.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../tests/e2e/server.mjs';
import { harnessHeaders } from './harness.mjs';
import {
  CLI, FIXTURE, ROOT, gotoStep, launch, loadFolder, newContext, notices, openApp, serve, setEpochs, waitForStatus,
} from '../tests/e2e/helpers.mjs';

const SIDE = 224;
// MedClassify's inference batch at 224 px (`Classifier::inference_batch`: 256 MiB of
// activations at 300 bytes per input pixel): ONNX Runtime Web gets batches of the same size.
const BATCH = 17;
const label = process.argv[2] ?? 'dev';
const out = join(ROOT, 'bench', 'out');
mkdirSync(out, { recursive: true });

/** A six-class EfficientNet-Lite0 model at 224 px and its ONNX export (one short head-only run
 * on the shipped sample: only the network's shape matters for speed). */
function exportModel() {
  const model = join(out, 'lite0-224.mcmodel');
  const onnx = join(out, 'lite0-224.onnx');
  if (!existsSync(model)) {
    execFileSync(CLI, ['train', FIXTURE, '--preset', 'efficientnet_lite0', '--transfer', 'head', '--size', String(SIDE),
      '--epochs', '1', '--batch', '16', '--backend', 'cpu', '--patience', '0', '--out', model], { stdio: 'inherit' });
  }
  execFileSync(CLI, ['export-onnx', '--model', model, '--out', onnx], { stdio: 'inherit' });
  return onnx;
}

/** ONNX Runtime Web on `threads` threads, in a fresh page (its thread count is fixed once a
 * page has created a session). */
async function ortRow(browser, url, threads) {
  const page = await browser.newPage();
  try {
    await page.goto(`${url}bench/page/ort.html`);
    return await page.evaluate((args) => window.runOrt(args), {
      modelUrl: '/bench/out/lite0-224.onnx', provider: 'wasm', threads, batch: BATCH, warmup: 1, runs: 6,
    });
  } finally {
    await page.close();
  }
}

/** An init script: the engine's feature events with their own clock (`seconds` since the
 * feature pass began, measured in the engine). */
function recordFeatures() {
  window.__features = [];
  const Original = window.Worker;
  window.Worker = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', ({ data }) => {
        const event = data?.Training?.event;
        if (event?.type === 'features') window.__features.push({ done: event.done, total: event.total, seconds: event.seconds });
      });
    }
  };
}

/** MedClassify's page: the shipped sample at 224 px, EfficientNet-Lite0 head only on the CPU;
 * the feature pass timed from its first step's end to its ninth's (or its last), then stopped. */
async function medclassifyRow(browser) {
  const server = await serve('/');
  const { context } = await newContext(browser, new URL(server.url).origin);
  await context.addInitScript(recordFeatures);
  try {
    const page = await openApp(context, server.url);
    await gotoStep(page, 'data');
    await page.selectOption('select[aria-label="Image size"]', String(SIDE));
    await loadFolder(page);
    await gotoStep(page, 'train');
    await page.selectOption('[data-testid=preset-select]', 'efficientnet_lite0');
    await page.selectOption('[data-testid=transfer-select]', 'head');
    await page.selectOption('[data-testid=backend-select]', 'cpu');
    await setEpochs(page, 1);
    await page.click('[data-testid=start-training]');
    // Until nine batches or the whole pass (the sample's 211 training and validation images:
    // seven steps of 34 when the training helper takes half of each).
    await page.waitForFunction(() => window.__features.length >= 9 || (window.__features.length > 1 && window.__features.at(-1).done === window.__features.at(-1).total), null, { timeout: 600_000 });
    const events = await page.evaluate(() => window.__features);
    await page.click('[data-testid=stop-training]');
    await waitForStatus(page, ['idle', 'done', 'error']);
    const [first, last] = [events[0], events.at(-1)];
    const imagesPerSecond = (last.done - first.done) / (last.seconds - first.seconds);
    const backend = (await page.textContent('[data-testid=training-backend]')).trim();
    return { side: `MedClassify page, CPU (${backend})`, imagesPerSecond, batch: first.done, timedImages: last.done - first.done, events, notices: await notices(page) };
  } finally {
    await context.close();
    await server.close();
  }
}

const onnx = exportModel();
const browser = await launch();
const harness = await startServer({ root: ROOT, prefix: '/', headersFor: harnessHeaders });
const rows = [];
try {
  rows.push(await medclassifyRow(browser));
  for (const threads of [1, 2]) rows.push({ side: `ONNX Runtime Web 1.31.1, wasm SIMD, ${threads} thread(s)`, ...await ortRow(browser, harness.url, threads) });
} finally {
  await harness.close();
  await browser.close();
}
for (const row of rows) {
  console.log(`${row.side.padEnd(56)} ${row.error ? `did not run: ${row.error}` : `${row.imagesPerSecond.toFixed(2)} images/s`}`);
}
const missing = rows.filter((row) => row.error || !(row.imagesPerSecond > 0));
const ours = rows[0].imagesPerSecond;
const ratios = rows.slice(1).filter((row) => !row.error).map((row) => ({ against: row.side, ratio: ours / row.imagesPerSecond }));
for (const { against, ratio } of ratios) console.log(`MedClassify / ${against}: ${ratio.toFixed(2)}x`);
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
const record = {
  date: new Date().toISOString(), commit, machine: `${cpus().length} x ${cpus()[0].model}`,
  command: `node bench/inference.mjs ${label}`, side: SIDE, batch: BATCH, onnx, rows, ratios,
};
const file = join(ROOT, 'bench', 'results', `inference-224-${label}.json`);
writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
console.log(`wrote ${file}`);
if (missing.length > 0) {
  console.error(`did not run: ${missing.map((row) => row.side).join('; ')}`);
  process.exit(1);
}
