// The positive control of the "no WebGPU error reached training" checks (`tuning.test.mjs`):
// a real WebGPU validation error on the engine's device during a run is said at its end, with
// its count and message, and only for that run (the page keeps one device for the tab's life).
// The drill: a buffer with no usage, which the WebGPU specification makes a validation error,
// created on the engine's own GPUDevice (caught as it opens its next command encoder) after
// the run's first epoch, outside any error scope. The time estimate's first batches are
// watched the same way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoForeignRequests, engineWorker, gotoStep, launch, newContext, notices, openApp, serve, setEpochs, shot, waitForStatus } from './helpers.mjs';

const WARNING = /WebGPU reported (\d+) error\(s\) during training, so its results may be wrong; train on the CPU to compare\. First message: ([^×]*)/g;

test('a WebGPU error during a run is said at its end, and only for that run', { timeout: 900_000 }, async () => {
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await openApp(context, server.url);
    const engine = engineWorker(page);
    await page.click('[data-testid=sample-data]');
    await page.waitForSelector('[data-testid=data-report]', { timeout: 120_000 });
    await engine.evaluate(() => {
      const open = GPUDevice.prototype.createCommandEncoder;
      GPUDevice.prototype.createCommandEncoder = function (...args) {
        if (self.medclassifyGpuErrorDrill) {
          self.medclassifyGpuErrorDrill = false;
          setTimeout(() => this.createBuffer({ size: 16, usage: 0 }), 0);
        }
        return open.apply(this, args);
      };
    });
    const train = async (drill) => {
      await gotoStep(page, 'train');
      await setEpochs(page, drill ? 2 : 1);
      await page.selectOption('[data-testid=backend-select]', 'webgpu');
      await page.click('[data-testid=start-training]');
      // This run's start (the status leaves the last run's "done").
      await page.waitForFunction(() => !/done|error/.test(document.querySelector('[data-testid=training-status]')?.textContent || ''), null, { timeout: 120_000 });
      if (drill) {
        await page.waitForFunction(() => /Epoch 2 \//.test(document.querySelector('[data-testid=epoch-progress]')?.textContent || ''), null, { timeout: 600_000 });
        await engine.evaluate(() => { self.medclassifyGpuErrorDrill = true; });
      }
      assert.equal(await waitForStatus(page, ['done', 'error'], 600_000), 'done', await notices(page));
      assert.match(await page.textContent('[data-testid=training-backend]'), /^on WebGPU/);
      assert.match(await page.textContent('[data-testid=epoch-progress]'), new RegExp(`Epoch ${drill ? 2 : 1} / ${drill ? 2 : 1}`));
      if (drill) assert.equal(await engine.evaluate(() => self.medclassifyGpuErrorDrill), false, 'the drill ran');
      return [...(await notices(page)).matchAll(WARNING)];
    };

    const drilled = await train(true);
    assert.equal(drilled.length, 1, await notices(page));
    assert.equal(drilled[0][1], '1', 'one error, counted once');
    assert.ok(drilled[0][2].trim().length > 0, 'the first message is given');
    console.log(`said: ${drilled[0][0]}`);
    await shot(page, 'webgpu-error-said');
    // The next clean run on the same device says nothing (the notices cleared first, since
    // the same words again would not show twice): the tally is per run.
    await page.click('[data-testid=dismiss-all]');
    assert.doesNotMatch(await notices(page), WARNING);
    assert.deepEqual(await train(false), [], await notices(page));

    // The time estimate runs the run's first batches on the same device: an error there is
    // said as the estimate's, not dropped by the next run's fresh tally.
    await engine.evaluate(() => { self.medclassifyGpuErrorDrill = true; });
    await page.click('[data-testid=estimate-time]');
    await page.waitForSelector('[data-testid=estimate], [data-testid=estimate-failed]', { timeout: 600_000 });
    assert.equal(await engine.evaluate(() => self.medclassifyGpuErrorDrill), false, 'the drill ran');
    assert.match(await page.textContent('[data-testid=estimate-panel]'), /About .+ on WebGPU for 1 epoch\(s\)/);
    const estimated = await notices(page);
    assert.match(estimated, /WebGPU reported 1 error\(s\) during the time estimate, so a run on it may give wrong results; estimate or train on the CPU to compare\. First message: \S/, estimated);
    assert.doesNotMatch(estimated, WARNING, 'not said as a training run\'s');
    await shot(page, 'webgpu-error-estimate');
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
