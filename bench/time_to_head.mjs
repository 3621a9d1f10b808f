// Time from *Train* to a trained head (issue 25, item 7): the page loads 1,000 MedNIST images
// at 224 px (the first of each class by name, in MedNIST's proportions), a user picks
// EfficientNet-Lite0, the head only, on the CPU, and clicks Start. Timed with the page's own
// events: the frozen backbone's feature pass (the training and validation images, once), the
// head's epochs, and the end of the run (after the test set is scored), each from the click.
// The weights come from the page's own server the first time (measured apart: `weights_s`).
//   node bench/time_to_head.mjs [--images=1000] [--epochs=10] [--size=224]
// (after trunk build --release; the full MedNIST from ../shared/data/MedNIST.tar.gz or
// MEDNIST_DIR). Writes bench/results/time-to-head-<date>-<commit>.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gotoStep, launch, newContext, notices, openApp, serve, setEpochs, waitForStatus } from '../tests/e2e/helpers.mjs';
import { recordTrainingEvents } from './harness.mjs';
import { mednist, subset } from './mednist.mjs';
import { writeRecord } from './record.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const images = Number(arg('images', '1000'));
const epochs = Number(arg('epochs', '10'));
const size = arg('size', '224');

const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
const [dir, files] = subset(mednist(), images);
const server = await serve('/');
const browser = await launch();
const { context } = await newContext(browser, new URL(server.url).origin);
await context.addInitScript(recordTrainingEvents);
const record = { date: new Date().toISOString(), commit, machine: `${cpus().length} x ${cpus()[0].model}`, command: `node bench/time_to_head.mjs --images=${images} --epochs=${epochs} --size=${size}`, images: files, size: Number(size), epochs };
try {
  const page = await openApp(context, server.url);
  await gotoStep(page, 'data');
  await page.selectOption('select[aria-label="Image size"]', size);
  const loadStarted = Date.now();
  await page.setInputFiles('[data-testid=folder-input]', dir);
  await page.waitForFunction((n) => (document.querySelector('[data-testid=data-report]')?.textContent || '').includes(`${n} images`), files, { timeout: 600_000 });
  record.load_s = (Date.now() - loadStarted) / 1000;
  await gotoStep(page, 'train');
  await page.selectOption('[data-testid=preset-select]', 'efficientnet_lite0');
  await page.selectOption('[data-testid=transfer-select]', 'head');
  await page.selectOption('[data-testid=backend-select]', 'cpu');
  await setEpochs(page, epochs);
  const clicked = await page.evaluate(() => { window.__events.length = 0; return performance.now(); });
  await page.click('[data-testid=start-training]');
  const status = await waitForStatus(page, ['done', 'error'], 3_600_000);
  if (status !== 'done') throw new Error(await notices(page));
  const ended = await page.evaluate(() => performance.now());
  const events = await page.evaluate(() => window.__events);
  const at = (e) => (e.at - clicked) / 1000;
  const features = events.filter((e) => e.type === 'features');
  const epochEvents = events.filter((e) => e.type === 'epoch');
  const finished = events.find((e) => e.type === 'finished');
  record.backend = (await page.textContent('[data-testid=training-backend]').catch(() => '')).trim();
  record.first_feature_step_s = features.length ? at(features[0]) : null;
  record.features_done_s = features.length ? at(features.at(-1)) : null;
  record.feature_images = features.at(-1)?.total ?? null;
  record.epochs_run = epochEvents.length;
  record.head_trained_s = finished ? at(finished) : null;
  record.done_s = (ended - clicked) / 1000;
  record.test_accuracy = (await page.textContent('body')).match(/test accuracy ([\d.]+ ?%)/)?.[1] ?? null;
  record.notices = await notices(page);
  console.log(JSON.stringify(record, null, 2));
} finally {
  await browser.close();
  server.close();
}
mkdirSync(join(HERE, 'results'), { recursive: true });
const file = writeRecord(join(HERE, 'results', `time-to-head-${record.date.slice(0, 10)}-${commit}`), record);
console.log(`wrote ${file}`);
