// The Chromium-only "Open folder (file system access)" button: a folder chosen through the
// picker loads like one chosen through the folder input; the user closing the picker is no
// error (nothing is said), and a refusal by the browser is said with its reason. A headless
// browser cannot click through the native dialog, so the page's `window.showDirectoryPicker`
// is replaced before the page loads by one that answers as the browser would: a rejection
// with the DOMException the standard names, or directory handles over the shipped sample's
// real files (their bytes read here, the listing and reading done by the page's own code).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURE, assertNoForeignRequests, gotoStep, launch, newContext, notices, openApp, serve, shot } from './helpers.mjs';

/** The sample as { class: [[name, base64], ...] }. */
function sampleFolder() {
  const out = {};
  for (const cls of readdirSync(FIXTURE)) {
    if (!statSync(join(FIXTURE, cls)).isDirectory()) continue;
    out[cls] = readdirSync(join(FIXTURE, cls)).map((f) => [f, readFileSync(join(FIXTURE, cls, f)).toString('base64')]);
  }
  return out;
}

/** In the page: `showDirectoryPicker` answers with whatever `window.__pick` returns. */
function installPicker() {
  window.showDirectoryPicker = () => window.__pick();
}

test('the file system access picker: a folder loads, a cancel says nothing, a refusal says why', { timeout: 300_000 }, async () => {
  const folder = sampleFolder();
  const images = Object.values(folder).reduce((n, files) => n + files.length, 0);
  const server = await serve('/');
  const browser = await launch();
  try {
    const { context, foreign } = await newContext(browser, new URL(server.url).origin);
    await context.addInitScript(installPicker);
    const page = await openApp(context, server.url);
    await gotoStep(page, 'data');
    const button = page.getByRole('button', { name: 'Open folder (file system access)…' });

    // The user closes the dialog, then the browser refuses (a permission policy): only the
    // refusal is reported, and the cancel before it left nothing behind.
    await page.evaluate(() => {
      window.__pick = () => Promise.reject(new DOMException('The user aborted a request.', 'AbortError'));
    });
    await button.click();
    await page.evaluate(() => {
      window.__pick = () => Promise.reject(new DOMException('The request is not allowed by the user agent or the platform in the current context.', 'NotAllowedError'));
    });
    await button.click();
    await page.waitForFunction(() => document.body.textContent.includes('the folder could not be opened'));
    const said = await notices(page);
    assert.match(said, /the folder could not be opened: NotAllowedError: The request is not allowed/);
    assert.doesNotMatch(said, /abort/i, `the cancel was reported: ${said}`);

    // A folder: one directory handle per class over the sample's files.
    await page.evaluate((tree) => {
      const file = ([name, base64]) => ({
        kind: 'file',
        name,
        getFile: async () => new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name, { type: 'image/jpeg' }),
      });
      const directory = (name, entries) => ({
        kind: 'directory',
        name,
        async *values() { yield* entries; },
      });
      const root = directory('MedNIST', Object.entries(tree).map(([cls, files]) => directory(cls, files.map(file))));
      window.__pick = async () => root;
    }, folder);
    await button.click();
    await page.waitForFunction((n) => (document.querySelector('[data-testid=data-report]')?.textContent || '').includes(`${n} images`), images, { timeout: 120_000 });
    const report = await page.textContent('[data-testid=data-report]');
    for (const cls of Object.keys(folder)) assert.match(report, new RegExp(cls), `the report names ${cls}`);
    await shot(page, 'folder-picker-loaded');
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    server.close();
  }
});
