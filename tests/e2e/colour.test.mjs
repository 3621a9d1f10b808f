// Colour images in the page: tests/fixtures/colour (two classes of the same MedNIST images,
// tinted warm or cool with no change in luminance; scripts/make_colour_fixtures.py) loaded as
// Colour (RGB): the thumbnails keep the tint (red 50 above or below green, the fixture's own
// numbers), a CPU run separates the classes (the accuracy counted here from the page's
// test-score export), predictions and Grad-CAM work on colour files, and the colour model
// refuses the same folder loaded as grayscale, naming both sides.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, assertNoForeignRequests, gotoStep, launch, newContext, notices, openApp, serve, setEpochs, shot, status, waitForStatus } from './helpers.mjs';

const COLOUR = join(ROOT, 'tests', 'fixtures', 'colour');

/** Mean red minus green over a canvas. */
function redMinusGreen(page, selector) {
  return page.$eval(selector, (canvas) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) sum += data[i] - data[i + 1];
    return sum / (data.length / 4);
  });
}

test('a colour folder loads, trains, predicts and explains in RGB; its model refuses gray data', { timeout: 600_000 }, async () => {
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await openApp(context, server.url);
    await page.selectOption('[data-testid=colour]', 'rgb');
    await page.setInputFiles('[data-testid=folder-input]', COLOUR);
    await page.waitForSelector('[data-testid=data-report]');
    assert.match(await page.textContent('[data-testid=data-report]'), /160 images in 2 classes from 160 files, stored as 32x32 colour \(RGB\)/);
    const warm = await redMinusGreen(page, 'canvas[aria-label="warm sample 1"]');
    const cool = await redMinusGreen(page, 'canvas[aria-label="cool sample 1"]');
    assert.ok(Math.abs(warm - 50) <= 1 && Math.abs(cool + 50) <= 1, `red - green: warm ${warm}, cool ${cool}`);
    assert.doesNotMatch(await notices(page), /damaged|failed/, 'the bundled (grayscale) model still loads');
    await shot(page, 'colour-01-data');

    await gotoStep(page, 'train');
    await setEpochs(page, 10);
    await page.selectOption('[data-testid=backend-select]', 'cpu');
    await page.click('[data-testid=start-training]');
    assert.equal(await waitForStatus(page, ['done', 'error']), 'done', await notices(page));
    await gotoStep(page, 'evaluate');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=test-scores]')]);
    const [header, ...rows] = readFileSync(await download.path(), 'utf8').trim().split('\n').map((l) => l.split(','));
    assert.deepEqual(header, ['sample', 'true_class', 'p_cool', 'p_warm']);
    const correct = rows.filter(([, truth, cool, warm]) => (Number(warm) > Number(cool) ? 'warm' : 'cool') === truth).length;
    console.log(`colour test accuracy: ${correct} / ${rows.length}`);
    assert.ok(rows.length >= 20 && correct / rows.length >= 0.95, `${correct} of ${rows.length} test images`);
    await shot(page, 'colour-02-evaluate');

    await gotoStep(page, 'predict');
    const files = ['warm', 'cool'].map((c) => join(COLOUR, c, readdirFirst(join(COLOUR, c))));
    await page.setInputFiles('[data-testid=predict-input]', files);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction-result] tbody tr').length === 2);
    // Each row's top class (its first bar), not the row's text: a row lists every class of
    // this two-class model, so "the row mentions warm" would hold whatever was predicted.
    const predicted = await page.$$eval('[data-testid=prediction-result] tbody tr', (trs) => trs.map((tr) => tr.querySelector('.bar-label').textContent));
    assert.deepEqual(predicted, ['warm', 'cool']);
    assert.ok(await redMinusGreen(page, '[data-testid=prediction-result] tbody tr:first-child canvas') > 45, 'the prediction thumbnail is in colour');
    await page.locator('[data-testid=prediction-result] tbody tr').first().locator('button', { hasText: 'Grad-CAM' }).click();
    await page.waitForSelector('[data-testid=explanation] canvas');
    await shot(page, 'colour-03-predict');

    // The same folder as grayscale: the colour model's checkpoint refuses it, naming both.
    await gotoStep(page, 'data');
    await page.selectOption('[data-testid=colour]', 'grayscale');
    await page.setInputFiles('[data-testid=folder-input]', COLOUR);
    await page.waitForFunction(() => /stored as 32x32 grayscale/.test(document.querySelector('[data-testid=data-report]')?.textContent || ''));
    await gotoStep(page, 'train');
    await setEpochs(page, 12);
    const progress = await page.textContent('[data-testid=epoch-progress]');
    assert.equal(await status(page), 'done');
    await page.click('[data-testid=resume-training]');
    await page.waitForFunction(() => /is a colour \(RGB\) model and the loaded data is grayscale/.test(document.querySelector('.notices')?.textContent || ''), null, { timeout: 60_000 });
    // Refused before anything ran: the finished run is shown as it was, not as an error.
    assert.equal(await status(page), 'done');
    assert.equal(await page.textContent('[data-testid=epoch-progress]'), progress);
    await shot(page, 'colour-04-refused');
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});

function readdirFirst(dir) {
  return readdirSync(dir).sort()[0];
}
