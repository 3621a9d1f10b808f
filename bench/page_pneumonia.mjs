// The PneumoniaMNIST scoreboard's page rows: the built page (dist/) loads
// ../shared/data/pneumoniamnist-variant.npz through its "Open a MedMNIST file" input, trains on
// the CPU backend (two cores) with the page's defaults (seed 42, batch 64, the three callbacks)
// at most EPOCHS epochs, with and without class weighting, and reads the test accuracy and
// AUC (with their intervals) from the Evaluate step.
//   node bench/page_pneumonia.mjs [PRESET] [EPOCHS] [SEEDS]   (defaults: seed 20 42)
// SEEDS is a comma-separated list of training seeds (e.g. 42,1,2); the data's split is the file's.
// Writes bench/results/pneumonia-page-<date>-<preset>.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, gotoStep, launch, newContext, notices, openApp, serve, setEpochs, waitForStatus } from '../tests/e2e/helpers.mjs';
import { writeRecord } from './record.mjs';

const preset = process.argv[2] || 'seed';
const epochs = Number(process.argv[3] || 20);
const seeds = (process.argv[4] || '42').split(',').map(Number);
const npz = [join(ROOT, '..', 'shared', 'data', 'pneumoniamnist-variant.npz'), '/work/shared/data/pneumoniamnist-variant.npz'].find(existsSync);
if (!npz) throw new Error('../shared/data/pneumoniamnist-variant.npz is missing');

const runs = [];
for (const seed of seeds) for (const weighting of ['none', 'balanced']) {
  const server = await serve('/');
  const browser = await launch();
  const { context } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await openApp(context, server.url);
    await page.setInputFiles('[data-testid=npz-input]', npz);
    await page.waitForSelector('[data-testid=split-from-file]');
    await gotoStep(page, 'train');
    await setEpochs(page, epochs);
    await page.selectOption('[data-testid=preset-select]', preset);
    await page.selectOption('[data-testid=backend-select]', 'cpu');
    await page.selectOption('[data-testid=class-weighting]', weighting);
    await page.fill('[data-testid=seed-input]', String(seed));
    await page.press('[data-testid=seed-input]', 'Tab');
    const started = Date.now();
    await page.click('[data-testid=start-training]');
    const status = await waitForStatus(page, ['done', 'error'], 3_600_000);
    if (status !== 'done') throw new Error(`training ended in ${status}: ${await notices(page)}`);
    const seconds = (Date.now() - started) / 1000;
    const epochsRun = (await page.textContent('[data-testid=epoch-progress]')).trim();
    await gotoStep(page, 'evaluate');
    const accuracy = await page.textContent('[data-testid=test-accuracy]');
    const interval = await page.textContent('[data-testid=accuracy-interval]');
    const auc = await page.$$eval('[data-testid=intervals] [data-auc]', (cells) => cells.map((c) => ({
      auc: Number(c.dataset.auc), lo: Number(c.dataset.lo), hi: Number(c.dataset.hi),
    })));
    const run = { seed, weighting, preset, max_epochs: epochs, accuracy, interval: interval.trim(), auc_pneumonia: auc[1], seconds, epochs_run: epochsRun };
    console.log(JSON.stringify(run));
    runs.push(run);
  } finally {
    await browser.close();
    await server.close();
  }
}
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
const out = join(ROOT, 'bench', 'results');
mkdirSync(out, { recursive: true });
const file = writeRecord(join(out, `pneumonia-page-${new Date().toISOString().slice(0, 10)}-${preset}${seeds.length > 1 ? '-seeds' : ''}`), { date: new Date().toISOString(), commit, npz, runs });
console.log(`wrote ${file}`);
