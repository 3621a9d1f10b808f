// Main-thread time the page spends per training event:
//   node bench/main_thread.mjs <label> [dist] [runs] [epochs]
// (defaults: dist/ of this checkout, 3 runs, 10 epochs; `before`/`after` labels compare builds).
//
// Why: every message from the engine worker goes through the page's reducer and re-renders
// the page on the main thread; during training that is one message per batch, epoch and
// callback. This measures what each costs there, as the browser itself counts it.
//
// Each run serves the build with the project's server (tests/e2e/server.mjs), opens it in a
// fresh headless Chromium (the e2e flags, tests/e2e/helpers.mjs), loads the shipped MedNIST
// subset through the folder input as the journey test does, trains on the CPU backend, and
// reads Chromium's own counters of the renderer main thread through a CDP session
// (`Performance.getMetrics`: `ScriptDuration`, `TaskDuration`, cumulative seconds) just
// before Start and right after the status says `done`. The training events are counted in
// the page: an init script (`countEngineMessages` in the helpers) wraps `Worker` and counts
// the `message` events from the engine whose data has a `Training` key (serde-wasm-bindgen's `{Training: {event: {Batch: ...}}}`).
// The waits poll the DOM once a second, which costs well under a millisecond each.
//
// Prints one JSON line per run and writes them all to bench/results/main-thread-<label>.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  ROOT, countEngineMessages, engineMessages, gotoStep, launch, loadFolder, mainThreadSeconds, newContext, notices, openApp, serve, setEpochs,
} from '../tests/e2e/helpers.mjs';

const label = process.argv[2];
if (!label || !/^[\w.-]+$/.test(label)) {
  console.error('usage: node bench/main_thread.mjs <label> [dist] [runs] [epochs]');
  process.exit(2);
}
const root = resolve(process.argv[3] || join(ROOT, 'dist'));
const runs = Number(process.argv[4] || 3);
const epochs = Number(process.argv[5] || 10);
const backend = 'cpu';

/** The commit the build came from: that of the checkout holding `dist` (or MEDCLASSIFY_COMMIT). */
function commitOf(dist) {
  if (process.env.MEDCLASSIFY_COMMIT) return process.env.MEDCLASSIFY_COMMIT;
  try {
    return execFileSync('git', ['-C', dirname(dist), 'rev-parse', '--short', 'HEAD']).toString().trim();
  } catch {
    return null;
  }
}

async function oneRun(server, run) {
  const browser = await launch(root);
  try {
    const { context, foreign } = await newContext(browser, new URL(server.url).origin);
    await context.addInitScript(countEngineMessages);
    const page = await openApp(context, server.url);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await loadFolder(page, join(ROOT, 'www', 'sample', 'MedNIST'));
    const report = await page.textContent('[data-testid=data-report]');
    const images = Number((report.match(/(\d+) images in/) || [])[1]);
    await gotoStep(page, 'train');
    await setEpochs(page, epochs);
    await page.selectOption('[data-testid=backend-select]', backend);
    const countsBefore = await engineMessages(page);
    const before = await mainThreadSeconds(cdp);
    const started = Date.now();
    await page.click('[data-testid=start-training]');
    await page.waitForFunction(() => !/done|error/.test(document.querySelector('[data-testid=training-status]')?.textContent || ''),
      null, { timeout: 120_000, polling: 100 });
    await page.waitForFunction(() => /done|error/.test(document.querySelector('[data-testid=training-status]')?.textContent || ''),
      null, { timeout: 900_000, polling: 1000 });
    const after = await mainThreadSeconds(cdp);
    const wall = (Date.now() - started) / 1000;
    const status = (await page.textContent('[data-testid=training-status]')).trim();
    if (status !== 'done') throw new Error(`training ended with ${status}: ${await notices(page)}`);
    const counts = await engineMessages(page);
    const events = counts.training - countsBefore.training;
    const script = after.script - before.script;
    const task = after.task - before.task;
    if (foreign.length) throw new Error(`requests left the origin: ${foreign.join(', ')}`);
    return {
      run,
      label,
      events,
      event_kinds: counts.kinds,
      engine_messages: counts.all - countsBefore.all,
      script_duration_s: script,
      task_duration_s: task,
      script_ms_per_event: (script * 1000) / events,
      task_ms_per_event: (task * 1000) / events,
      training_wall_s: wall,
      images,
      epochs,
      backend,
      training_backend_shown: (await page.textContent('[data-testid=training-backend]')).trim(),
      first_training_message: counts.first,
      date: new Date().toISOString(),
      commit: commitOf(root),
      dist: root,
    };
  } finally {
    await browser.close();
  }
}

const server = await serve('/', root);
const rows = [];
try {
  for (let run = 0; run < runs; run++) {
    const row = await oneRun(server, run);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
} finally {
  await server.close();
}
const out = join(ROOT, 'bench', 'results', `main-thread-${label}.json`);
mkdirSync(dirname(out), { recursive: true });
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const summary = {
  label,
  command: `node bench/main_thread.mjs ${process.argv.slice(2).join(' ')}`,
  median_task_ms_per_event: median(rows.map((r) => r.task_ms_per_event)),
  median_script_ms_per_event: median(rows.map((r) => r.script_ms_per_event)),
  runs: rows,
};
writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
console.log(`task ms/event: ${rows.map((r) => r.task_ms_per_event.toFixed(2)).join(', ')} (median ${summary.median_task_ms_per_event.toFixed(2)})`);
console.log(`wrote ${out}`);
