// How soon the page is usable after opening it: `node bench/boot.mjs [dist] [runs]`.
// Serves the build with the project's server (tests/e2e/server.mjs, as scripts/serve.sh
// does), opens it in a fresh headless Chromium profile each run (nothing cached) and times
//   - interactive: the Data step's "Try sample data" button is on screen and enabled,
//   - engine ready: the engine worker reports its backend (since 69b962e after the model it
//     starts with is in place, so that the page does not move under a click),
//   - model ready: the bundled ready model can classify.
// Writes one JSON line per run to stdout and a summary to bench/results/boot-<date>.json.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launch, newContext, ROOT } from '../tests/e2e/helpers.mjs';
import { writeRecord } from './record.mjs';

// BOOT_SERVER=path/to/server.mjs times another server module with the same interface (for a
// side-by-side with an earlier server: `git show 27cde22:tests/e2e/server.mjs`).
const { startServer } = await import(process.env.BOOT_SERVER ? resolve(process.env.BOOT_SERVER) : '../tests/e2e/server.mjs');

const root = resolve(process.argv[2] || join(ROOT, 'dist'));
const runs = Number(process.argv[3] || 3);
const server = await startServer({ root, prefix: '/' });
const rows = [];
try {
  for (let run = 0; run < runs; run++) {
    const browser = await launch();
    const { context } = await newContext(browser, new URL(server.url).origin, { intercept: false });
    const page = await context.newPage();
    const started = Date.now();
    await page.goto(server.url);
    await page.waitForSelector('[data-testid=sample-data]:not([disabled])', { timeout: 300_000 });
    const interactive = Date.now() - started;
    await page.waitForFunction(() => /WebGPU|CPU/.test(document.querySelector('[data-testid=backend]')?.textContent || ''), null, { timeout: 300_000 });
    const engine = Date.now() - started;
    await page.click('#tab-predict');
    await page.waitForFunction(() => /bundled ready model/.test(document.querySelector('[data-testid=model-info]')?.textContent || ''), null, { timeout: 300_000 });
    const model = Date.now() - started;
    const row = { run, interactive_ms: interactive, engine_ready_ms: engine, model_ready_ms: model };
    console.log(JSON.stringify(row));
    rows.push(row);
    await browser.close();
  }
} finally {
  await server.close();
}
const date = new Date().toISOString().slice(0, 10);
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
const label = `${root.endsWith('deploy') ? 'dist-deploy' : 'dist'}${process.env.BOOT_SERVER ? '-server-27cde22' : ''}`;
const stem = join(ROOT, 'bench', 'results', `boot-${date}-${label}`);
const command = `${process.env.BOOT_SERVER ? `BOOT_SERVER=${process.env.BOOT_SERVER} ` : ''}node bench/boot.mjs ${process.argv.slice(2).join(' ')}`.trim();
const out = writeRecord(stem, { root, server: process.env.BOOT_SERVER || 'tests/e2e/server.mjs', command, runs: rows });
console.log(`wrote ${out}`);
