// The positive control of `cpu_cores.test.mjs`'s "no notice of a helper" check: a training
// helper that cannot start, and one that stops mid-run, are each said in the notices, the
// page stops claiming a second core, and the run still finishes and learns on one core; one
// that stops during the time estimate is said there, and the estimate is one core's.
// The drills go through the engine's own seam, `medclassifySpawnHelper` (set by engine.js on
// the engine worker's global and read at each start): one throws for the training helper;
// the other ends the helper mid-run the way a crash does (terminated, then the `error` event
// the browser fires on the parent's Worker object when a worker's wasm aborts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { assertNoForeignRequests, didNotRun, engineWorker, gotoStep, launch, loadFolder, modelCard, newContext, notices, openApp, serve, setEpochs, shot, waitForStatus } from './helpers.mjs';

/** Replaces the engine's helper spawner: training helpers (role "peer") throw when `refuse`,
 * and each one stops at its next message once `self.medclassifyCrashPeers` is `true`, or at
 * its N-th training step once it is a number N. Decoding helpers start as usual. */
async function drill(engine, refuse) {
  await engine.evaluate((refuse) => {
    const spawn = self.medclassifySpawnOriginal ??= self.medclassifySpawnHelper;
    self.medclassifySpawnHelper = (module, role) => {
      if (role === 'peer' && refuse) throw new Error('start drill: no training helper');
      const helper = spawn(module, role);
      if (role !== 'peer') return helper;
      const post = helper.postMessage.bind(helper);
      let steps = 0;
      helper.postMessage = (message, transfer) => {
        if (message && typeof message === 'object' && 'Step' in message) steps += 1;
        const at = self.medclassifyCrashPeers;
        if (!(at === true || (typeof at === 'number' && steps >= at))) return post(message, transfer);
        helper.terminate();
        setTimeout(() => helper.dispatchEvent(new ErrorEvent('error', { message: 'crash drill: the training helper stopped' })), 0);
      };
      return helper;
    };
  }, refuse);
}

/** Trains `epochs` on the CPU (both cores allowed); `during` runs once epoch 2 is under way.
 * The history's rows (epoch, loss, accuracy, val_loss, val_accuracy) and the backend line. */
async function train(page, epochs, during = async () => {}) {
  await gotoStep(page, 'train');
  await setEpochs(page, epochs);
  await page.selectOption('[data-testid=backend-select]', 'cpu');
  await page.click('[data-testid=start-training]');
  await page.waitForFunction(() => /Epoch 2 \//.test(document.querySelector('[data-testid=epoch-progress]')?.textContent || ''), null, { timeout: 300_000 });
  const backendDuring = await page.textContent('[data-testid=training-backend]');
  await during();
  assert.equal(await waitForStatus(page, ['done', 'error']), 'done', await notices(page));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Download history (CSV)')]);
  const rows = readFileSync(await download.path(), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  return { rows, backendDuring, backend: await page.textContent('[data-testid=training-backend]') };
}

test('a training helper that cannot start, or stops mid-run, is said; the run finishes on one core', { timeout: 900_000 }, async (t) => {
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await openApp(context, server.url);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    if (cores < 2) return didNotRun(t, `the browser reports ${cores} core(s); a training helper needs two`);
    await loadFolder(page);
    const engine = engineWorker(page);

    // The helper cannot start: one core from the first batch, and the page says why.
    await drill(engine, true);
    const refused = await train(page, 6);
    let said = await notices(page);
    assert.match(said, /training on one core: the training helper did not start \(a helper worker could not start: [^)]*start drill: no training helper/, said);
    assert.match(refused.backendDuring, /^on CPU \(CPU chosen in the settings\)/, 'no second core is claimed');
    assert.equal(refused.rows.length, 6);
    assert.ok(refused.rows[5][4] >= 0.8, `val_accuracy ${refused.rows[5][4]} after 6 epochs on one core`);
    assert.ok(refused.rows[5][1] < refused.rows[0][1] * 0.6, 'the loss falls');
    await shot(page, 'helper-failure-refused');

    // The helper starts, then stops during epoch 2: the run goes on alone, and says so.
    await drill(engine, false);
    const crashed = await train(page, 6, () => engine.evaluate(() => { self.medclassifyCrashPeers = true; }));
    said = await notices(page);
    assert.match(crashed.backendDuring, /^on CPU, 2 cores \(CPU chosen in the settings\)/, 'the helper was there before the drill');
    assert.match(said, /the second training replica failed \(crash drill: the training helper stopped\); training goes on, on one core/, said);
    assert.match(crashed.backend, /^on CPU \(CPU chosen in the settings\)/, 'the page no longer claims a second core');
    assert.deepEqual(crashed.rows.map((r) => r[0]), [1, 2, 3, 4, 5, 6], 'every epoch ran once');
    assert.ok(crashed.rows[5][4] >= 0.8, `val_accuracy ${crashed.rows[5][4]} after the helper stopped`);
    assert.ok(crashed.rows[5][1] < crashed.rows[0][1] * 0.6, 'the loss falls');
    await shot(page, 'helper-failure-crashed');
    // Trained on the CPU: the card names no GPU adapter.
    const card = await modelCard(page);
    assert.match(card, /^- Trained on: CPU in the browser$/m, card.match(/^- Trained on: .*$/m)?.[0]);
    await gotoStep(page, 'train');

    // The time estimate runs the run's first batches with a helper of its own: a healthy one
    // is counted, one that stops at its second step is said, and the estimate is one core's.
    const estimate = async (crashAt) => {
      await engine.evaluate((at) => { self.medclassifyCrashPeers = at; }, crashAt);
      // An estimate shown before is marked, so that only this one's answer is waited for.
      await page.$eval('[data-testid=estimate]', (e) => e.setAttribute('data-stale', '')).catch(() => {});
      await page.click('[data-testid=estimate-time]');
      await page.waitForSelector('[data-testid=estimate]:not([data-stale]), [data-testid=estimate-failed]', { timeout: 300_000 });
      const text = await page.textContent('[data-testid=estimate-panel]');
      const oneCore = await page.$('[data-testid=estimate-one-core]');
      return { text, oneCore: oneCore && (await oneCore.textContent()) };
    };
    const healthy = await estimate(false);
    assert.match(healthy.text, /About .+ on CPU, 2 cores for 6 epoch\(s\)/, healthy.text);
    assert.equal(healthy.oneCore, null, healthy.text);
    const lost = await estimate(2);
    assert.match(lost.text, /About .+ on CPU for 6 epoch\(s\)/, lost.text);
    assert.match(lost.oneCore ?? '', /^Timed on one core after the training helper failed: the second training replica failed \(crash drill: the training helper stopped\)/, lost.text);
    assert.match(lost.text, /Measured on 2 batch\(es\) after an untimed first one/, 'timed again on one core');
    await shot(page, 'helper-failure-estimate');
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
