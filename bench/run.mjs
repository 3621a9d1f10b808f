// MedClassify benchmarks: one command, side by side, same machine, one run.
//
//   node bench/run.mjs            (after `trunk build --release`; see BENCHMARKS.md)
//
// Prints a table and writes bench/out/results.json. Needs the full MedNIST
// (../shared/data/MedNIST.tar.gz or MEDNIST_DIR), the native `medclassify` binary
// ($CARGO_TARGET_DIR/release/medclassify) and bench/node_modules (npm ci in bench/).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../tests/e2e/server.mjs';
import { harnessHeaders } from './harness.mjs';
import { DEPLOY, DIST, launch, newContext, openApp, gotoStep, setEpochs, waitForStatus, notices } from '../tests/e2e/helpers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const OUT = join(HERE, 'out');
mkdirSync(OUT, { recursive: true });
const TARGET = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'medclassify', 'target');
const CLI = join(TARGET, 'release', 'medclassify');
const quick = process.argv.includes('--quick');
// --parts=a,b,...: run only these parts (native, cpu, webgpu, full, predict, tfjs); default all.
// --presets=seed,strong likewise for the in-page training rows.
const arg = (name, all) => (process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1].split(',') ?? all);
const parts = new Set(arg('parts', ['native', 'cpu', 'webgpu', 'full', 'predict', 'tfjs']));
const presets = arg('presets', ['seed', 'strong']);
// --full-epochs=N: epochs of the full-MedNIST runs in the page (test accuracy after the last).
const fullEpochs = Number(arg('full-epochs', ['1'])[0]);
const results = { date: new Date().toISOString(), machine: `${cpus().length} × ${cpus()[0].model}`, quick, rows: [] };
const ours = {};
// Rows whose peer or side did not run: the run fails, naming them (a ratio is never printed
// against a missing side). TF.js's wasm backend has no kernel for a convolution's weight
// gradient, so it cannot train these networks: that row is expected, and says so.
const missing = [];
const EXPECTED = { wasm: /Conv2DBackpropFilter/ };
const row = (group, what, value, unit, note = '') => { results.rows.push({ group, what, value, unit, note }); console.log(`${group.padEnd(12)} ${what.padEnd(58)} ${typeof value === 'number' ? value.toFixed(value < 10 ? 2 : 0) : value} ${unit} ${note}`); };

function mednist() {
  if (process.env.MEDNIST_DIR) return process.env.MEDNIST_DIR;
  const dir = join(homedir(), '.cache', 'medclassify', 'MedNIST');
  if (!existsSync(dir)) {
    const archive = [join(ROOT, '..', 'shared', 'data', 'MedNIST.tar.gz'), '/work/shared/data/MedNIST.tar.gz'].find(existsSync);
    if (!archive) throw new Error('full MedNIST not found: set MEDNIST_DIR or put MedNIST.tar.gz in ../shared/data');
    execFileSync('tar', ['xzf', archive, '-C', dirname(dir)]);
  }
  return dir;
}

/** A folder with the first `perClass` images of every class (a fixed subset). */
function subset(full, perClass) {
  const dir = join(OUT, `mednist-${perClass}`);
  if (existsSync(dir)) return dir;
  for (const cls of readdirSync(full)) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (const f of readdirSync(join(full, cls)).sort().slice(0, perClass)) copyFileSync(join(full, cls, f), join(dir, cls, f));
  }
  return dir;
}

const cli = (args) => JSON.parse(execFileSync(CLI, args, { maxBuffer: 1 << 30 }).toString());

async function main() {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: cargo build --release`);
  if (!existsSync(join(DIST, 'index.html'))) throw new Error('dist/ is missing: trunk build --release');
  const full = mednist();
  const data = join(OUT, 'mednist-32.mcdata');
  if (!existsSync(data)) execFileSync(CLI, ['export', full, '--size', '32', '--out', data]);

  // --- Download size (the deployable build: node scripts/optimise.mjs) -------------------
  if (!existsSync(join(DEPLOY, 'index.html'))) execFileSync('node', [join(ROOT, 'scripts', 'optimise.mjs'), DIST, DEPLOY], { stdio: 'inherit' });
  let gz = 0, br = 0;
  for (const name of readdirSync(DEPLOY).filter((n) => /\.(wasm|js|css)$/.test(n) && n !== 'sw.js')) {
    gz += readFileSync(join(DEPLOY, `${name}.gz`)).length;
    br += readFileSync(join(DEPLOY, `${name}.br`)).length;
  }
  row('download', 'wasm + JS + CSS, gzip -9', gz / 1e6, 'MB');
  row('download', 'wasm + JS + CSS, brotli', br / 1e6, 'MB');

  // --- Native ------------------------------------------------------------------------------
  if (parts.has('native')) for (const threads of [1, cpus().length]) {
    const r = cli(['inspect', full, '--json', '--threads', String(threads)]);
    ours.nativeIngest = r.images / r.load_seconds;
    row('ingest', `native decode+resize full MedNIST (${r.images} files), ${threads} thread(s)`, r.images / r.load_seconds, 'files/s', `${r.load_seconds.toFixed(1)} s`);
  }
  const trainSet = subset(full, quick ? 300 : 640);
  if (parts.has('native')) for (const preset of ['seed', 'strong']) {
    const r = cli(['train', trainSet, '--preset', preset, '--epochs', '2', '--batch', '64', '--backend', 'cpu', '--patience', '0', '--lr-patience', '0', '--out', join(OUT, `native-${preset}.mcmodel`), '--checkpoints', OUT, '--json']);
    row('train', `native Flex CPU, ${preset}, batch 64 (epoch 2)`, r.history[1].images_per_second, 'img/s');
  }
  if (parts.has('native')) {
  const evaluation = cli(['evaluate', '--model', join(ROOT, 'www', 'models', 'seed-mednist.mcmodel'), data, '--json']);
  row('inference', 'native Flex CPU, seed, batches of 256', evaluation.images_per_second, 'img/s', `${evaluation.images} images`);
  }

  // --- In the page (headless Chromium, WebGPU on SwiftShader) -------------------------------
  const server = await startServer({ root: ROOT, prefix: '/', headersFor: harnessHeaders });
  const appUrl = `${server.url}dist/`;
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await openApp(context, appUrl);
    const history = async () => {
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 600_000 }), page.click('text=Download history (CSV)')]);
      return readFileSync(await download.path(), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    };
    const train = async (backend, preset, epochs) => {
      await gotoStep(page, 'train');
      await setEpochs(page, epochs);
      await page.selectOption('[data-testid=backend-select]', backend);
      await page.selectOption('[data-testid=preset-select]', preset);
      await page.click('[data-testid=start-training]');
      // The status still reads `done` from the last run until the engine has started this one.
      await page.waitForFunction(() => !/done|error/.test(document.querySelector('[data-testid=training-status]')?.textContent || ''), null, { timeout: 120_000 });
      const status = await waitForStatus(page, ['done', 'error'], 3_600_000);
      if (status !== 'done') throw new Error(`training failed: ${await notices(page)}`);
      if (!(await page.isEnabled('text=Download history (CSV)'))) {
        throw new Error(`training ended without a completed epoch: ${await notices(page)} | ${await page.textContent('[data-testid=callback-log]').catch(() => '')}`);
      }
      return history();
    };
    const load = async (dir) => {
      await gotoStep(page, 'data');
      await page.setInputFiles('[data-testid=folder-input]', dir);
      await page.waitForFunction((n) => (document.querySelector('[data-testid=data-report]')?.textContent || '').includes(`${n} images`),
        readdirSync(dir).reduce((a, c) => a + readdirSync(join(dir, c)).length, 0), { timeout: 600_000 });
      const text = await page.textContent('[data-testid=data-report] .summary');
      return { seconds: Number(/loaded in ([\d.]+) s/.exec(text)[1]), engine: /engine memory ([\d.]+ [KM]B)/.exec(text)[1] };
    };

    // Training throughput on a fixed subset.
    if (parts.has('cpu') || parts.has('predict')) await load(trainSet);
    // One core (the engine alone) and every core (the engine plus the training helper, each
    // computing half of every batch), side by side.
    if (parts.has('cpu')) for (const preset of presets) {
      for (const [backend, cores] of [['cpu1', 'one core'], ['cpu', 'two cores']]) {
        const h = await train(backend, preset, 2);
        ours[`${backend}-${preset}`] = h[1][7];
        const on = await page.textContent('[data-testid=training-backend]');
        row('train', `page, Burn Flex CPU (wasm, SIMD), ${cores}, ${preset}, batch 64 (epoch 2)`, h[1][7], 'img/s', on.includes('2 cores') ? '(2 replicas)' : '');
      }
      row('ratio', `${preset}: page CPU two cores / one core`, ours[`cpu-${preset}`] / ours[`cpu1-${preset}`], 'x');
    }
    const gpuSet = subset(full, quick ? 64 : 128);
    if (parts.has('webgpu')) await load(gpuSet);
    if (parts.has('webgpu')) for (const preset of presets) {
      const h = await train('webgpu', preset, 2);
      ours[`webgpu-${preset}`] = h[1][7];
      row('train', `page, Burn WebGPU (SwiftShader), ${preset}, batch 64 (epoch 2)`, h[1][7], 'img/s');
    }

    // Ingest, memory and time to 99% on the full MedNIST.
    if (!quick && parts.has('full')) {
      const loaded = await load(full);
      row('ingest', `page decode+resize full MedNIST (58954 files), worker`, 58954 / loaded.seconds, 'files/s', `${loaded.seconds.toFixed(1)} s, engine memory ${loaded.engine}`);
      if (ours.nativeIngest) row('ratio', 'ingest: native (all threads) / page', ours.nativeIngest / (58954 / loaded.seconds), 'x', 'goal <= 2');
      for (const preset of presets) {
        const t0 = Date.now();
        const h = await train('cpu', preset, fullEpochs);
        const accuracy = await (gotoStep(page, 'evaluate').then(() => page.textContent('[data-testid=test-accuracy]')));
        await gotoStep(page, 'train');
        const memory = await page.textContent('[data-testid=engine-memory]');
        const epochs = h.map((e) => `epoch ${e[0]}: ${e[6].toFixed(0)} s, val ${(e[4] * 100).toFixed(2)}%`).join('; ');
        row('accuracy', `page, CPU, ${preset}, full MedNIST, ${fullEpochs} epoch(s): test accuracy`, accuracy, '', `${epochs}; ${((Date.now() - t0) / 1000).toFixed(0)} s wall, ${memory}`);
      }
    }

    // Inference through the Predict step (file reading, decoding and scoring).
    if (parts.has('predict')) {
    await gotoStep(page, 'predict');
    const images = readdirSync(join(trainSet, 'Hand')).slice(0, 256).map((f) => join(trainSet, 'Hand', f));
    for (const count of [1, images.length]) {
      const t0 = Date.now();
      await page.setInputFiles('[data-testid=predict-input]', images.slice(0, count));
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=prediction-result] tbody tr').length === n, count, { timeout: 120_000 });
      const ms = Date.now() - t0;
      if (count === 1) row('inference', 'page, predict one image (pick to result on screen)', ms, 'ms');
      else row('inference', `page, predict ${count} images (pick to results on screen)`, (count * 1000) / ms, 'img/s');
    }
    }
    if (foreign.length) throw new Error(`requests left the origin: ${foreign}`);

    // TensorFlow.js 4.22 in the same browser, same data, same networks.
    if (parts.has('tfjs')) {
    const tfPage = await context.newPage();
    await tfPage.goto(`${server.url}bench/page/tfjs.html`);
    await tfPage.waitForFunction(() => typeof window.runBench === 'function');
    for (const preset of ['seed', 'strong']) {
      for (const [backend, warmup, steps] of [['webgpu', 2, quick ? 3 : 6], ['webgl', 2, quick ? 4 : 8], ['cpu', 1, 2], ['wasm', 1, 2]]) {
        const r = await tfPage.evaluate((args) => window.runBench(args), { backend, preset, batch: 64, warmup, steps, dataUrl: '../out/mednist-32.mcdata', images: 1024 });
        const what = `page, TF.js 4.22 ${backend}, ${preset}, batch 64`;
        if (r.error) row('train', what, 'cannot train', '', r.error.slice(0, 120));
        else row('train', what, r.imagesPerSecond, 'img/s');
        if (r.error && !EXPECTED[backend]?.test(r.error)) missing.push(`${what}: ${r.error.slice(0, 160)}`);
        if (!r.error) ours[`tfjs-${backend}-${preset}`] = r.imagesPerSecond;
      }
      const bestGpu = Math.max(ours[`tfjs-webgpu-${preset}`] || 0, ours[`tfjs-webgl-${preset}`] || 0);
      const ratio = (what, mine, theirs, note) => {
        if (mine && theirs) row('ratio', what, mine / theirs, 'x', note);
        else if (mine || theirs) missing.push(`${what}: ${mine ? 'the TF.js side' : "MedClassify's side"} did not run`);
      };
      if (!presets.includes(preset)) continue;
      if (parts.has('webgpu')) ratio(`${preset}: MedClassify WebGPU / TF.js best GPU backend`, ours[`webgpu-${preset}`], bestGpu, 'goal >= 1.5');
      if (parts.has('cpu')) ratio(`${preset}: MedClassify CPU / TF.js cpu`, ours[`cpu-${preset}`], ours[`tfjs-cpu-${preset}`]);
    }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  results.parts = [...parts];
  results.missing = missing;
  writeFileSync(join(OUT, 'results.json'), JSON.stringify(results, null, 2));
  console.log(`\nwritten to ${join(OUT, 'results.json')}`);
  if (missing.length) {
    console.error(`\n${missing.length} row(s) did not run:\n  ${missing.join('\n  ')}`);
    process.exit(1);
  }
}

main().catch((error) => { console.error(error); process.exit(1); });
