// Training speed with the app's tab in the background. Headless Chromium has no background
// tabs (every page is "visible"), so this runs headful Chromium under Xvfb, where a tab behind
// another one is hidden: one CPU training run of 6 epochs, epochs 1-3 with the app's tab in
// front, epochs 4-6 behind a second tab; images/s per epoch from the app's history CSV.
//   source scripts/env.sh && trunk build --release && xvfb-run -a node bench/background.mjs [FOLDER]
// FOLDER defaults to bench/out/mednist-640 (made by `node bench/run.mjs`), else the shipped sample.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { FIXTURE, ROOT, gotoStep, newContext, openApp, serve, setEpochs, waitForStatus } from '../tests/e2e/helpers.mjs';

const folder = process.argv[2] || [join(ROOT, 'bench', 'out', 'mednist-640')].find(existsSync) || FIXTURE;
const browser = await chromium.launch({
  executablePath: process.env.MEDCLASSIFY_CHROMIUM || '/usr/bin/chromium',
  headless: false,
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader',
    '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync',
    '--disable-default-apps', '--disable-domain-reliability', '--no-pings'],
});
const server = await serve('/');
try {
  const { context } = await newContext(browser, new URL(server.url).origin);
  const app = await openApp(context, server.url);
  await gotoStep(app, 'data');
  await app.setInputFiles('[data-testid=folder-input]', folder);
  await app.waitForSelector('[data-testid=data-report]', { timeout: 600_000 });
  await gotoStep(app, 'train');
  await setEpochs(app, 6);
  await app.selectOption('[data-testid=backend-select]', 'cpu');
  await app.selectOption('[data-testid=preset-select]', 'seed');
  await app.click('[data-testid=start-training]');
  await waitForStatus(app, ['running', 'error']);
  await app.waitForFunction(() => /Epoch 4 \//.test(document.querySelector('[data-testid=epoch-progress]')?.textContent || ''), null, { timeout: 1_800_000 });
  const other = await context.newPage();
  await other.goto(`${server.url}www/sample/README.md`).catch(() => other.setContent('<p>another tab</p>'));
  await other.bringToFront();
  const states = [];
  for (;;) {
    states.push(await app.evaluate(() => document.visibilityState));
    const status = await app.textContent('[data-testid=training-status]');
    if (/done|error/.test(status)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  await app.bringToFront();
  const [download] = await Promise.all([app.waitForEvent('download'), app.click('text=Download history (CSV)')]);
  const rows = readFileSync(await download.path(), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  const hidden = states.filter((s) => s === 'hidden').length;
  console.log(`folder ${folder}; app tab hidden in ${hidden} of ${states.length} checks while epochs 4-6 ran`);
  for (const r of rows) console.log(`epoch ${r[0]}  ${r[0] <= 3 ? 'front     ' : 'background'}  ${r[7].toFixed(0)} images/s  (${r[6].toFixed(1)} s)`);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const front = mean(rows.filter((r) => r[0] >= 2 && r[0] <= 3).map((r) => r[7]));
  const back = mean(rows.filter((r) => r[0] >= 4).map((r) => r[7]));
  console.log(`front (epochs 2-3) ${front.toFixed(0)} images/s, background (epochs 4-6) ${back.toFixed(0)} images/s: ratio ${(back / front).toFixed(2)}`);
} finally {
  await browser.close();
  server.close();
}
