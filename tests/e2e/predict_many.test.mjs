// Predict with many files at once: the page says how far it is while it classifies (a group of
// files at a time, each decoded on a helper while the engine classifies the group before), and
// every row, in the order picked, carries what the native command gives for the same file with
// the same model (class and probability); a file that is no image keeps its place and says why.
// The scoring stays on the engine's core for this small network.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ARTIFACTS, CLI, DIST, FIXTURE, assertNoForeignRequests, assertRowsAsNative, gotoStep, launch, newContext, openApp,
  predictionRows, recordPredictSharing, serve,
} from './helpers.mjs';

test('Predict of 248 files shows its progress and gives the native command\'s answer for each', { timeout: 300_000 }, async () => {
  const images = readdirSync(FIXTURE).sort().flatMap((c) => readdirSync(join(FIXTURE, c)).sort().map((f) => join(FIXTURE, c, f)));
  const broken = join(ARTIFACTS, 'predict-many-broken.jpeg');
  writeFileSync(broken, 'not an image, though named like one\n');
  const picked = [...images.slice(0, 100), broken, ...images.slice(100)];
  const model = join(DIST, 'models', 'seed-mednist.mcmodel');
  const native = JSON.parse(execFileSync(CLI, ['predict', '--model', model, ...images, '--json'], { maxBuffer: 64 << 20 }).toString());
  assert.equal(native.length, images.length);

  const server = await serve('/');
  const browser = await launch();
  try {
    const { context, foreign } = await newContext(browser, new URL(server.url).origin);
    const page = await openApp(context, server.url);
    const shared = recordPredictSharing(page);
    await gotoStep(page, 'predict');
    await page.waitForFunction(() => /bundled ready model/.test(document.querySelector('[data-testid=model-info]')?.textContent || ''), null, { timeout: 60_000 });
    // Every state of the progress bar the page shows, as it shows it.
    await page.evaluate(() => {
      window.__progress = [];
      new MutationObserver(() => {
        const bar = document.querySelector('[data-testid=predict-progress] progress');
        if (bar) window.__progress.push([Number(bar.value), Number(bar.max)]);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    const started = Date.now();
    await page.setInputFiles('[data-testid=predict-input]', picked);
    // What the user sees meanwhile (the assertions below use the observer's record).
    await page.locator('[data-testid=predict-progress]').scrollIntoViewIfNeeded({ timeout: 60_000 })
      .then(() => page.screenshot({ path: join(ARTIFACTS, 'predict-many-progress.png') })).catch(() => {});
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=prediction-result] tbody tr').length === n, picked.length, { timeout: 120_000 });
    console.log(`${picked.length} files: pick to rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await page.screenshot({ path: join(ARTIFACTS, 'predict-many.png') });

    const progress = await page.evaluate(() => window.__progress);
    const between = progress.filter(([done, total]) => total === picked.length && done > 0 && done < total);
    assert.ok(between.length >= 3, `the progress shown: ${JSON.stringify(progress)}`);
    assert.ok(between.every(([done], i) => i === 0 || done >= between[i - 1][0]), `progress went back: ${JSON.stringify(between)}`);
    assert.equal(await page.locator('[data-testid=predict-progress]').count(), 0, 'the progress bar stays after the results');

    const rows = await predictionRows(page);
    assert.match(rows[100].error || '', /cannot classify/);
    assert.equal(rows[100].file, 'predict-many-broken.jpeg');
    assertRowsAsNative([...rows.slice(0, 100), ...rows.slice(101)], images, native);
    // The small network at 32 px scores these files alone faster than a helper starts: no
    // replica on the second core (tests/e2e/transfer.test.mjs sees one for EfficientNet-Lite0).
    assert.deepEqual(shared, [`${picked.length} false`]);
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
