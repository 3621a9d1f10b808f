// Predict of many files in the page, side by side in one run and one browser: the engine's core
// alone (the Train step's "CPU (one core)") against two cores allowed ("CPU", the default on
// two cores: the engine shares the scoring with a replica on the second core when the files
// left would take over 2 s alone), for the ready seed model at 32 px (expected not to share)
// and an EfficientNet-Lite0 model at 224 px (expected to). Timed from the pick to the last row on screen; each
// setting twice, alternated, since this machine's speed drifts between minutes. The rows of
// both settings must be the same (class and percentage of every file).
//
//   node bench/predict.mjs [LABEL]
//
// Needs the release build (cargo build --release ... --features cli; trunk build --release)
// and the weights (scripts/weights.sh), for the Lite0 model made by bench/inference.mjs's
// command (one head-only epoch on the sample; made here when missing). Writes
// bench/results/predict-LABEL.json.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { CLI, FIXTURE, ROOT, gotoStep, launch, newContext, openApp, serve } from '../tests/e2e/helpers.mjs';
import { writeRecord } from './record.mjs';

const label = process.argv[2] ?? 'dev';
const out = join(ROOT, 'bench', 'out');
mkdirSync(out, { recursive: true });

function lite0Model() {
  const model = join(out, 'lite0-224.mcmodel');
  if (!existsSync(model)) {
    execFileSync(CLI, ['train', FIXTURE, '--preset', 'efficientnet_lite0', '--transfer', 'head', '--size', '224',
      '--epochs', '1', '--batch', '16', '--backend', 'cpu', '--patience', '0', '--out', model], { stdio: 'inherit' });
  }
  return model;
}

const files = readdirSync(FIXTURE).sort().flatMap((c) => readdirSync(join(FIXTURE, c)).sort().map((f) => join(FIXTURE, c, f)));

/** Seconds from the pick to the last row, and the rows, for `backend` in a page holding `model`. */
async function predictOnce(page, backend) {
  await gotoStep(page, 'train');
  await page.selectOption('[data-testid=backend-select]', backend);
  await gotoStep(page, 'predict');
  // A batch is over once its progress bar has been shown and is gone (the rows of the one
  // before stay on screen until then).
  await page.evaluate(() => {
    window.__shown = false;
    window.__observer?.disconnect();
    window.__observer = new MutationObserver(() => {
      if (document.querySelector('[data-testid=predict-progress]')) window.__shown = true;
    });
    window.__observer.observe(document.body, { subtree: true, childList: true });
  });
  const started = Date.now();
  await page.setInputFiles('[data-testid=predict-input]', files);
  await page.waitForFunction((n) => window.__shown && !document.querySelector('[data-testid=predict-progress]')
    && document.querySelectorAll('[data-testid=prediction-result] tbody tr').length === n, files.length, { timeout: 600_000 });
  const seconds = (Date.now() - started) / 1000;
  const rows = await page.locator('[data-testid=prediction-result] tbody tr').evaluateAll((trs) => trs.map((r) => [
    r.querySelector('.bar-label')?.textContent, r.querySelector('.bar-value')?.textContent,
  ]));
  return { seconds, rows };
}

async function modelRows(browser, name, modelPath, expectShared) {
  const server = await serve('/');
  const { context } = await newContext(browser, new URL(server.url).origin);
  const shared = [];
  const judged = [];
  try {
    const page = await openApp(context, server.url);
    const listen = (worker) => worker.on('console', (m) => {
      const said = m.text().match(/shared with a second core: (\w+)/);
      if (said) shared.push(said[1] === 'true');
      if (m.text().startsWith('Predict: ')) judged.push(m.text());
    });
    page.workers().forEach(listen);
    page.on('worker', listen);
    await gotoStep(page, 'predict');
    await page.waitForFunction(() => /bundled ready model/.test(document.querySelector('[data-testid=model-info]')?.textContent || ''), null, { timeout: 60_000 });
    if (modelPath) {
      await page.setInputFiles('[data-testid=model-upload]', modelPath);
      await page.waitForFunction(() => !/bundled ready model/.test(document.querySelector('[data-testid=model-info]')?.textContent || ''), null, { timeout: 120_000 });
    }
    const runs = [];
    for (const backend of ['cpu1', 'cpu', 'cpu1', 'cpu']) {
      const { seconds, rows } = await predictOnce(page, backend);
      runs.push({ backend, seconds, images_per_second: files.length / seconds, rows });
      console.log(`${name} ${backend}: ${files.length} files in ${seconds.toFixed(2)} s (${(files.length / seconds).toFixed(1)} images/s)`);
    }
    assert.deepEqual(shared, [false, expectShared, false, expectShared], `${name}: the replica was used ${expectShared ? 'in the two-core runs' : 'in no run'}`);
    for (const run of runs.slice(1)) assert.deepEqual(run.rows, runs[0].rows, `${name}: the rows of ${run.backend} differ`);
    console.log(judged.join('\n'));
    return { runs: runs.map(({ rows, ...run }) => run), engine_judged: judged };
  } finally {
    await context.close();
    await server.close();
  }
}

const browser = await launch();
try {
  const record = {
    what: 'Predict in the page, pick to the last row, the shipped sample (247 files): one core vs two cores allowed',
    command: `node bench/predict.mjs ${label}`,
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim(),
    date: new Date().toISOString(),
    cpus: cpus().length,
    files: files.length,
    seed_32px: await modelRows(browser, 'seed 32 px', null, false),
    efficientnet_lite0_224px: await modelRows(browser, 'lite0 224 px', lite0Model(), true),
  };
  const path = writeRecord(join(ROOT, 'bench', 'results', `predict-${label}`), record);
  console.log(`wrote ${path}`);
} finally {
  await browser.close();
}
