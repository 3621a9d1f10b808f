// Predict with many files at once: the page says how far it is while it classifies (a group of
// files at a time, each decoded on a helper while the engine classifies the group before), and
// every row, in the order picked, carries what the native command gives for the same file with
// the same model (class and probability); a file that is no image keeps its place and says why.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ARTIFACTS, CLI, DIST, FIXTURE, assertNoForeignRequests, gotoStep, launch, newContext, openApp, serve } from './helpers.mjs';

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
    await page.setInputFiles('[data-testid=predict-input]', picked);
    // What the user sees meanwhile (the assertions below use the observer's record).
    await page.locator('[data-testid=predict-progress]').scrollIntoViewIfNeeded({ timeout: 60_000 })
      .then(() => page.screenshot({ path: join(ARTIFACTS, 'predict-many-progress.png') })).catch(() => {});
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=prediction-result] tbody tr').length === n, picked.length, { timeout: 120_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'predict-many.png') });

    const progress = await page.evaluate(() => window.__progress);
    const between = progress.filter(([done, total]) => total === picked.length && done > 0 && done < total);
    assert.ok(between.length >= 3, `the progress shown: ${JSON.stringify(progress)}`);
    assert.ok(between.every(([done], i) => i === 0 || done >= between[i - 1][0]), `progress went back: ${JSON.stringify(between)}`);
    assert.equal(await page.locator('[data-testid=predict-progress]').count(), 0, 'the progress bar stays after the results');

    const rows = await page.locator('[data-testid=prediction-result] tbody tr').evaluateAll((trs) => trs.map((r) => ({
      file: r.querySelector('.path')?.textContent,
      class: r.querySelector('.bar-label')?.textContent,
      percent: Number(r.querySelector('.bar-value')?.textContent.replace('%', '')),
      error: r.querySelector('.error-text')?.textContent,
    })));
    assert.match(rows[100].error || '', /cannot classify/);
    assert.equal(rows[100].file, 'predict-many-broken.jpeg');
    const answered = [...rows.slice(0, 100), ...rows.slice(101)];
    answered.forEach((row, i) => {
      const expected = native[i];
      assert.equal(row.file, images[i].split('/').pop(), `row ${i}`);
      assert.equal(row.class, expected.class, `row ${i} (${images[i]}): page ${row.class}, native ${expected.class}`);
      assert.ok(Math.abs(row.percent - 100 * expected.probability) <= 0.051, `row ${i}: page ${row.percent}%, native ${100 * expected.probability}%`);
    });
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
