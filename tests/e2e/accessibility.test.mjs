// Every step at 1280x800 and on a narrow phone-sized window: axe-core finds no serious or
// critical violation, and nothing needs the mouse (the steps are buttons reachable by Tab).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertAccessible, assertNoForeignRequests, gotoStep, launch, newContext, openApp, serve, shot } from './helpers.mjs';

for (const [label, viewport] of [['wide', { width: 1280, height: 800 }], ['narrow', { width: 390, height: 844 }]]) {
  test(`accessible on every step (${label} window)`, { timeout: 300_000 }, async () => {
    const server = await serve('/');
    const browser = await launch();
    const { context, foreign } = await newContext(browser, new URL(server.url).origin, { viewport });
    try {
      const page = await openApp(context, server.url);
      await page.click('[data-testid=sample-data]');
      await page.waitForSelector('[data-testid=data-report]', { timeout: 120_000 });
      // Keyboard: Tab reaches the step tabs, Enter opens one.
      await page.focus('#tab-data');
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.waitForSelector('[aria-labelledby=train-title]');
      for (const step of ['data', 'train', 'evaluate', 'predict']) {
        await gotoStep(page, step);
        // The step has rendered (gotoStep waited for its panel) and been painted: two frames.
        await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
        await assertAccessible(page, `${step} step, ${label}`);
        await shot(page, `a11y-${label}-${step}`);
      }
      // Positive control: a button with no name, planted in the page, is a critical violation
      // the same check reports (so an axe that found nothing because it saw nothing fails).
      await page.evaluate(() => document.querySelector('main, body').append(Object.assign(document.createElement('button'), { id: 'planted-unnamed' })));
      await assert.rejects(assertAccessible(page, 'planted'), /button-name \(critical\): #planted-unnamed/);
      await page.evaluate(() => document.getElementById('planted-unnamed').remove());
      // No horizontal scrolling of the page itself on a narrow window.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px`);
      assertNoForeignRequests(foreign);
    } finally {
      await browser.close();
      await server.close();
    }
  });
}
