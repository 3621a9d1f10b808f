// CPU training on every core: the engine hands half of each batch to a training helper worker
// (a second replica of the network) when the browser reports a second core. The page says so,
// a run is reproducible (same seed, same history), and "CPU (one core)" trains alone.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { assertNoForeignRequests, didNotRun, gotoStep, launch, loadFolder, newContext, notices, openApp, serve, setEpochs, shot, waitForStatus } from './helpers.mjs';

test('CPU training uses a second core through the training helper, reproducibly', { timeout: 900_000 }, async (t) => {
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await openApp(context, server.url);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    // What this test is about needs a second core; with one it says it did not run.
    if (cores < 2) return didNotRun(t, `the browser reports ${cores} core(s); the two-core path needs two`);
    await loadFolder(page);
    const train = async (backend) => {
      await gotoStep(page, 'train');
      await setEpochs(page, 8);
      await page.selectOption('[data-testid=backend-select]', backend);
      await page.click('[data-testid=start-training]');
      await page.waitForFunction(() => !/done|error/.test(document.querySelector('[data-testid=training-status]')?.textContent || ''), null, { timeout: 120_000 });
      assert.equal(await waitForStatus(page, ['done', 'error']), 'done', await notices(page));
      const on = await page.textContent('[data-testid=training-backend]');
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Download history (CSV)')]);
      const rows = readFileSync(await download.path(), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
      assert.equal(rows.length, 8);
      // epoch, loss, accuracy, val_loss, val_accuracy, learning_rate (not the timings).
      return { on, metrics: rows.map((r) => r.slice(0, 6)) };
    };

    const first = await train('cpu');
    console.log('two cores', JSON.stringify(first.metrics));
    assert.match(first.on, /^on CPU, 2 cores \(CPU chosen in the settings\)/);
    // (Its positive control, a helper that cannot start or stops mid-run: helper_failure.test.mjs.)
    assert.doesNotMatch(await notices(page), /replica|helper/, 'the helper started and answered every step');
    // Training learns: validation accuracy after 8 epochs on 175 training images.
    assert.ok(first.metrics[7][4] >= 0.85, `val_accuracy ${first.metrics[7][4]}`);
    assert.ok(first.metrics[7][1] < first.metrics[0][1] * 0.5, 'the loss falls');
    await shot(page, 'cpu-two-cores');

    // The same seed gives the same run: the split of each batch and both replicas' random
    // streams are fixed.
    const again = await train('cpu');
    assert.deepEqual(again.metrics, first.metrics);

    // One core: the engine alone.
    const alone = await train('cpu1');
    console.log('one core', JSON.stringify(alone.metrics));
    assert.match(alone.on, /^on CPU \(CPU on one core chosen in the settings\)/);
    assert.ok(alone.metrics[7][4] >= 0.85, `val_accuracy ${alone.metrics[7][4]}`);
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
