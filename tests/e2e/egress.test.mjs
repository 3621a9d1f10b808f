// The check every end-to-end test relies on ("no request leaves the page's origin") must
// itself be able to fail: a positive control. A page, a dedicated worker and a service worker
// of the test's origin make requests to another origin (127.0.0.2, loopback: nothing leaves
// the machine); the check must see all three. Then the real app, booted and used, must make
// none.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURE, assertNoForeignRequests, gotoStep, launch, newContext, openApp, serve } from './helpers.mjs';

const FOREIGN = 'http://127.0.0.2:9';

/** A service worker script for the control page (a service worker's own requests are the
 * hardest for a test to see). */
async function routeServiceWorker(context, origin) {
  await context.route(`${origin}/control-sw.js`, (route) => route.fulfill({
    contentType: 'text/javascript',
    body: `self.addEventListener('install', (e) => e.waitUntil(fetch('${FOREIGN}/from-service-worker').catch(() => {})));`,
  }));
}

/** The positive control: a page without the app's policy (fulfilled by the test itself)
 * whose page, worker and service worker each request another origin; the check of a context
 * made with `options` must see all three and fail on them. */
async function control(browser, origin, options) {
  const mode = options.intercept === false ? 'intercept: false' : 'routed';
  const control = await newContext(browser, origin, options);
  const page = await control.context.newPage();
  await page.route(`${origin}/control.html`, (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><title>control</title><script>
      fetch('${FOREIGN}/from-page').catch(() => {});
      new Worker('control-worker.js');
      navigator.serviceWorker.register('control-sw.js');
    </script>`,
  }));
  await page.route(`${origin}/control-worker.js`, (route) => route.fulfill({
    contentType: 'text/javascript',
    body: `fetch('${FOREIGN}/from-worker').catch(() => {});`,
  }));
  await routeServiceWorker(control.context, origin);
  await page.goto(`${origin}/control.html`);
  const deadline = Date.now() + 60_000;
  const seen = (end) => control.foreign.some((url) => url.endsWith(end));
  while (!(seen('/from-page') && seen('/from-worker') && seen('/from-service-worker')) && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 100));
  for (const from of ['/from-page', '/from-worker', '/from-service-worker']) {
    assert.ok(seen(from), `${mode}: ${from.slice(6)} request not seen: ${control.foreign}`);
  }
  assert.throws(() => assertNoForeignRequests(control.foreign), /requests left the page's origin/);
  await control.context.close();
}

test('the egress check sees a foreign request from a page, a worker and a service worker, and the app makes none', { timeout: 600_000 }, async () => {
  const server = await serve('/');
  const browser = await launch();
  const origin = new URL(server.url).origin;
  try {
    // Positive control, in both modes the tests use: requests routed (the default) and
    // `intercept: false` (hosting, transfer and update, which measure the browser's cache).
    await control(browser, origin, {});
    await control(browser, origin, { intercept: false });

    // The app: boot, load the sample, predict with the ready model; nothing foreign.
    const real = await newContext(browser, origin);
    const app = await openApp(real.context, server.url);
    await gotoStep(app, 'predict');
    await app.waitForFunction(() => /bundled ready model/.test(document.querySelector('[data-testid=model-info]')?.textContent || ''));
    await app.setInputFiles('[data-testid=predict-input]', join(FIXTURE, 'Hand', '000000.jpeg'));
    await app.waitForSelector('[data-testid=prediction-result] tbody tr');
    assertNoForeignRequests(real.foreign);
    await real.context.close();
  } finally {
    await browser.close();
    await server.close();
  }
});
