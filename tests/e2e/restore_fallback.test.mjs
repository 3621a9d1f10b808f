// Restoring after a reload when what this browser saved no longer reads: a damaged final
// model falls back to the last checkpoint, a damaged checkpoint too to the bundled ready
// model, and the page says which it used and why.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ARTIFACTS, FIXTURE, assertNoForeignRequests, assertRowsAsNative, gotoStep, launch, newContext, notices, openApp, nativePredict, predictionRows, serve,
  setEpochs, waitForBoot, waitForStatus,
} from './helpers.mjs';

/** Overwrites `key` in the app's IndexedDB store with bytes that start like a model file. */
async function damage(page, key) {
  await page.evaluate((key) => new Promise((ok, fail) => {
    const open = indexedDB.open('medclassify');
    open.onerror = () => fail(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction('models', 'readwrite');
      const header = new TextEncoder().encode('{"format_version":1,"damaged":tru');
      const bytes = new Uint8Array([...new TextEncoder().encode('MEDCLS\0\u0001'), header.length, 0, 0, 0, ...header, 1, 2, 3]);
      tx.objectStore('models').put(bytes, key);
      tx.oncomplete = () => { db.close(); ok(); };
      tx.onerror = () => fail(tx.error);
    };
  }), key);
}

/** The bytes stored under `key` in the app's IndexedDB store. */
async function stored(page, key) {
  return Buffer.from(await page.evaluate((key) => new Promise((ok, fail) => {
    const open = indexedDB.open('medclassify');
    open.onerror = () => fail(open.error);
    open.onsuccess = () => {
      const get = open.result.transaction('models').objectStore('models').get(key);
      get.onsuccess = () => { open.result.close(); ok(Array.from(new Uint8Array(get.result))); };
      get.onerror = () => fail(get.error);
    };
  }), key));
}

async function modelInfo(page) {
  await gotoStep(page, 'predict');
  await page.waitForFunction(() => /restored from this browser|bundled ready model/.test(document.querySelector('[data-testid=model-info]')?.textContent || ''));
  return page.textContent('[data-testid=model-info]');
}

test('a damaged saved model falls back to the last checkpoint, then to the bundled model, and says so', { timeout: 900_000 }, async () => {
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await openApp(context, server.url);
    await page.click('[data-testid=sample-data]');
    await page.waitForSelector('[data-testid=data-report]');
    await gotoStep(page, 'train');
    await setEpochs(page, 2);
    await page.selectOption('[data-testid=backend-select]', 'cpu');
    await page.click('[data-testid=start-training]');
    assert.equal(await waitForStatus(page, ['done', 'error']), 'done', await notices(page));

    const checkpoint = join(ARTIFACTS, 'restore-fallback-checkpoint.mcmodel');
    writeFileSync(checkpoint, await stored(page, 'checkpoint-last'));
    await damage(page, 'model-final');
    await page.reload();
    await waitForBoot(page);
    assert.match(await modelInfo(page), /restored from this browser/);
    await page.waitForFunction(() => /the last checkpoint was restored instead/.test(document.querySelector('.notices')?.textContent || ''));
    assert.match(await notices(page), /the saved model: the model file's header is damaged/);
    // What was restored is that checkpoint: the page's answers are the native command's with
    // the checkpoint's bytes as they were stored before the damage.
    const images = ['Hand', 'CXR', 'HeadCT'].map((c) => join(FIXTURE, c, readdirSync(join(FIXTURE, c)).sort()[2]));
    await page.setInputFiles('[data-testid=predict-input]', images);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=prediction-result] tbody tr').length === 3);
    const native = nativePredict(checkpoint, images);
    assertRowsAsNative(await predictionRows(page), images, native);

    await damage(page, 'checkpoint-last');
    await page.reload();
    await waitForBoot(page);
    assert.match(await modelInfo(page), /bundled ready model/);
    await page.waitForFunction(() => /the bundled ready model was loaded instead/.test(document.querySelector('.notices')?.textContent || ''));
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
