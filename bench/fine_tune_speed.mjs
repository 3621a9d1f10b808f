// Fine-tuning speed (issue 25, item 7): EfficientNet-Lite0 with every layer trained
// (`--transfer all`; or `--transfer=top`, `--transfer=head --augment`) at 224 px on the CPU, in the page (two cores: the engine and the training
// helper) and in the command (`medclassify train`, its own threads), on the shipped MedNIST
// sample, side by side in one run. The figure is each epoch's training images per second
// (the training steps only, as the page's history and `train --json` report them); epoch 1
// includes the first steps' warm-up, so the record keeps every epoch and the summary gives the
// last.
//   node bench/fine_tune_speed.mjs [--epochs=3] [--size=224] [--batch=16] [--transfer=all|top|head]
//                                  [--augment] [--page-only --root=DIST,DIST,...]
// (after trunk build --release and cargo build --release ... --features cli; the weights from
// scripts/weights.sh). Writes bench/results/fine-tune-speed-<date>-<commit>[-top|-head-augment].json.
// With --page-only and --root, only the page runs, once per copy of `dist/` listed, in turn: to
// compare builds in the same minutes (the record then holds one page entry per copy).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CLI, FIXTURE, gotoStep, launch, loadFolder, newContext, notices, openApp, serve, setEpochs, waitForStatus,
} from '../tests/e2e/helpers.mjs';
import { recordTrainingEvents } from './harness.mjs';
import { writeRecord } from './record.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const epochs = Number(arg('epochs', '3'));
const size = arg('size', '224');
const batch = arg('batch', '16');
const transfer = arg('transfer', 'all');
const augment = process.argv.includes('--augment');
const pageOnly = process.argv.includes('--page-only');
const roots = arg('root', '').split(',').filter(Boolean);

async function page(root) {
  const server = root ? await serve('/', root) : await serve('/');
  const browser = await launch();
  try {
    const { context } = await newContext(browser, new URL(server.url).origin);
    await context.addInitScript(recordTrainingEvents);
    const app = await openApp(context, server.url);
    await gotoStep(app, 'data');
    await app.selectOption('select[aria-label="Image size"]', size);
    await loadFolder(app, FIXTURE);
    await gotoStep(app, 'train');
    await app.selectOption('[data-testid=preset-select]', 'efficientnet_lite0');
    await app.selectOption('[data-testid=transfer-select]', transfer);
    if (augment) await app.getByLabel(/Augment training images/).check();
    await app.selectOption('[data-testid=backend-select]', 'cpu');
    const batchInput = app.getByLabel('Batch size');
    await batchInput.fill(batch);
    await batchInput.press('Tab');
    await setEpochs(app, epochs);
    await app.click('[data-testid=start-training]');
    const status = await waitForStatus(app, ['done', 'error'], 3_600_000);
    if (status !== 'done') throw new Error(await notices(app));
    const history = await app.evaluate(() => window.__events.filter((e) => e.type === 'epoch'));
    const backend = (await app.textContent('[data-testid=training-backend]').catch(() => '')).trim();
    return { backend, images_per_second: history.map((e) => e.images_per_second), batch: Number(await batchInput.inputValue()) };
  } finally {
    await browser.close();
    server.close();
  }
}

function cli() {
  const args = ['train', FIXTURE, '--preset', 'efficientnet_lite0', '--transfer', transfer, '--size', size,
    '--epochs', String(epochs), '--batch', batch, '--backend', 'cpu', '--patience', '0', '--json',
    ...(augment ? ['--augment'] : []), '--out', join(HERE, 'out', 'fine-tune-speed.mcmodel')];
  const json = JSON.parse(execFileSync(CLI, args, { maxBuffer: 1 << 26 }).toString());
  return { command: `medclassify ${args.join(' ')}`, images_per_second: json.history.map((e) => e.images_per_second) };
}

const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
mkdirSync(join(HERE, 'out'), { recursive: true });
const record = {
  date: new Date().toISOString(), commit, machine: `${cpus().length} x ${cpus()[0].model}`,
  command: `node ${process.argv.slice(1).map((a) => a.replace(/^.*bench\//, 'bench/')).join(' ')}`,
  data: 'www/sample/MedNIST (the shipped sample)', size: Number(size), batch: Number(batch), epochs,
  transfer, augment,
};
const last = (r) => r.images_per_second.at(-1);
if (pageOnly) {
  record.page_cpu_by_root = [];
  for (const root of roots.length ? roots : [undefined]) {
    const run = { root: root ?? 'dist', ...(await page(root)) };
    record.page_cpu_by_root.push(run);
    console.log(`${run.root}: page (CPU) last epoch ${last(run).toFixed(2)} images/s (${run.images_per_second.map((v) => v.toFixed(2)).join(', ')})`);
  }
} else {
  record.page_cpu = await page();
  record.cli_cpu = cli();
  console.log(`${transfer} at ${size} px, last epoch: page (CPU) ${last(record.page_cpu).toFixed(2)} images/s, command (CPU) ${last(record.cli_cpu).toFixed(2)} images/s`);
}
console.log(JSON.stringify(record, null, 2));
mkdirSync(join(HERE, 'results'), { recursive: true });
const mode = transfer === 'all' && !augment ? '' : `-${transfer}${augment ? '-augment' : ''}`;
const file = writeRecord(join(HERE, 'results', `fine-tune-speed-${record.date.slice(0, 10)}-${commit}${mode}${pageOnly ? '-ab' : ''}`), record);
console.log(`wrote ${file}`);
