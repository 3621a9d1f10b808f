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
import { existsSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../tests/e2e/server.mjs';
import { harnessHeaders } from './harness.mjs';
import { CLI, FIXTURE, ROOT, launch } from '../tests/e2e/helpers.mjs';
import { SIDE, timeFeaturePass } from './feature_pass.mjs';
import { writeRecord } from './record.mjs';

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

/** MedClassify's page: the feature pass of a head-only run, timed over nine steps. */
async function medclassifyRow(browser) {
  const { backend, ...row } = await timeFeaturePass(browser, { steps: 9 });
  return { side: `MedClassify page, CPU (${backend})`, ...row };
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
const file = writeRecord(join(ROOT, 'bench', 'results', `inference-224-${label}`), record);
console.log(`wrote ${file}`);
if (missing.length > 0) {
  console.error(`did not run: ${missing.map((row) => row.side).join('; ')}`);
  process.exit(1);
}
