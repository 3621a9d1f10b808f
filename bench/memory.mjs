// The page's memory over the number of images loaded at 224 px (issue 25, item 4): loads of
// 5,000, 15,000, 30,000 and all 58,954 MedNIST files, one after the other in one tab, and then,
// with all of them loaded, the first minute of EfficientNet-Lite0 runs on the CPU (head only:
// the features being computed; all layers: fine-tuning steps), each stopped by the user.
// After each, the tab's memory: the resident size of the renderer process (the page, its
// engine and helper workers and their WebAssembly memories) and of every Chromium process,
// from /proc, plus the engine's own WebAssembly memory as the page reports it.
//   node bench/memory.mjs [--counts=5000,15000,30000,58954] [--size=224] [--run-seconds=60]
// (after scripts/test.sh or trunk build --release). Writes bench/results/memory-<date>-<commit>.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gotoStep, launch, newContext, notices, openApp, serve, setEpochs, waitForStatus } from '../tests/e2e/helpers.mjs';
import { mednist, subset } from './mednist.mjs';
import { writeRecord } from './record.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const OUT = join(HERE, 'out');
const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const counts = arg('counts', '5000,15000,30000,58954').split(',').map(Number);
const size = arg('size', '224');
const runSeconds = Number(arg('run-seconds', '60'));

/** Resident kilobytes of every process below `root` (this node process: Chromium and its children). */
function processTree(root = process.pid) {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,rss=,args=']).toString().trim().split('\n').map((l) => {
    const [pid, ppid, rss, ...args] = l.trim().split(/\s+/);
    return { pid: +pid, ppid: +ppid, rss: +rss, args: args.join(' ') };
  });
  const below = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of rows) if (!below.has(r.pid) && below.has(r.ppid)) { below.add(r.pid); grew = true; }
  }
  return rows.filter((r) => r.pid !== root && below.has(r.pid) && /chrom/i.test(r.args));
}

function memory() {
  const chromium = processTree();
  const renderers = chromium.filter((r) => r.args.includes('--type=renderer'));
  const mb = (kb) => Math.round(kb / 1024);
  return {
    renderer_mb: mb(Math.max(0, ...renderers.map((r) => r.rss))),
    chromium_mb: mb(chromium.reduce((a, r) => a + r.rss, 0)),
  };
}

const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
const record = { date: new Date().toISOString(), commit, machine: `${cpus().length} x ${cpus()[0].model}`, size: Number(size), command: `node bench/memory.mjs ${process.argv.slice(2).join(' ')}`.trim(), rows: [] };
const row = (what, extra) => {
  const r = { what, ...memory(), ...extra };
  record.rows.push(r);
  console.log(JSON.stringify(r));
};

const full = mednist();
mkdirSync(OUT, { recursive: true });
const server = await serve('/');
const browser = await launch();
const { context } = await newContext(browser, new URL(server.url).origin);
try {
  const page = await openApp(context, server.url);
  row('page open, nothing loaded', {});
  await gotoStep(page, 'data');
  await page.selectOption('select[aria-label="Image size"]', size);
  for (const count of counts) {
    const [dir, files] = subset(full, count);
    const started = Date.now();
    await page.setInputFiles('[data-testid=folder-input]', dir);
    await page.waitForFunction((n) => {
      const text = document.querySelector('[data-testid=data-report]')?.textContent || '';
      return text.includes(`${n} images`) || document.querySelector('.notice.error, [role=alert]');
    }, files, { timeout: 1_800_000 });
    const report = await page.textContent('[data-testid=data-report]');
    if (!report.includes(`${files} images`)) throw new Error(`load of ${files} files failed: ${await notices(page)}`);
    const summary = await page.textContent('[data-testid=data-report] .summary');
    row(`${files} images loaded at ${size} px`, { images: files, seconds: (Date.now() - started) / 1000, engine: /engine memory ([\d.]+ [KMG]B)/.exec(summary)?.[1] });
  }
  await gotoStep(page, 'train');
  await page.selectOption('[data-testid=preset-select]', 'efficientnet_lite0');
  for (const transfer of ['head', 'all']) {
    await page.selectOption('[data-testid=transfer-select]', transfer);
    await setEpochs(page, 1);
    await page.selectOption('[data-testid=backend-select]', 'cpu');
    await page.click('[data-testid=start-training]');
    let peak = { renderer_mb: 0, chromium_mb: 0 };
    const until = Date.now() + runSeconds * 1000;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 2000));
      const now = memory();
      peak = { renderer_mb: Math.max(peak.renderer_mb, now.renderer_mb), chromium_mb: Math.max(peak.chromium_mb, now.chromium_mb) };
      if (/error/.test(await page.textContent('[data-testid=training-status]'))) throw new Error(`${transfer}: ${await notices(page)}`);
    }
    // Absent elements (no feature pass in a fine-tuning run) read as empty at once, not after
    // the context's three-minute wait for them to appear.
    const text = (selector) => page.textContent(selector, { timeout: 1000 }).catch(() => '');
    const progress = await text('[data-testid=features-progress]');
    const log = (await text('[data-testid=callback-log]')).slice(-300);
    const replicas = (await page.textContent('[data-testid=training-backend]').catch(() => '')).trim();
    row(`EfficientNet-Lite0 (${transfer}), first ${runSeconds} s on the CPU, all images loaded`, { peak, progress, log, backend: replicas });
    const stopping = Date.now();
    await page.click('[data-testid=stop-training]');
    const ended = await waitForStatus(page, ['done', 'stopped', 'error', 'idle'], 600_000);
    row(`stopped by the user (${transfer})`, { status: ended, seconds_to_stop: (Date.now() - stopping) / 1000 });
  }
} finally {
  await browser.close();
  server.close();
}
mkdirSync(join(HERE, 'results'), { recursive: true });
const file = writeRecord(join(HERE, 'results', `memory-${record.date.slice(0, 10)}-${commit}`), record);
console.log(`wrote ${file}`);
