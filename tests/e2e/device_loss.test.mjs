// Losing the GPU mid-run: training continues on the CPU from the last completed epoch (its
// weights, its history) and the page says so, in the header too. (The device is destroyed through the ?debug test hook.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { assertNoForeignRequests, gotoStep, launch, modelCard, newContext, notices, openApp, serve, setEpochs, shot, waitForStatus } from './helpers.mjs';

/** Runs `run` on a page with the ?debug hooks, the sample loaded, on the Train step with 3
 * epochs on WebGPU; then checks that nothing went to another host. */
async function onTheTrainStep(run) {
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await openApp(context, `${server.url}?debug=1`);
    await page.click('[data-testid=sample-data]');
    await page.waitForSelector('[data-testid=data-report]', { timeout: 120_000 });
    await gotoStep(page, 'train');
    await setEpochs(page, 3);
    await page.selectOption('[data-testid=backend-select]', 'webgpu');
    await run(page);
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
}

test('a lost WebGPU device hands training to the CPU', { timeout: 900_000 }, () => onTheTrainStep(async (page) => {
  await page.click('[data-testid=start-training]');
  // After the first epoch on WebGPU, pull the device away.
  await page.waitForFunction(() => /Epoch 2 \//.test(document.querySelector('[data-testid=epoch-progress]')?.textContent || ''), null, { timeout: 600_000 });
  await page.click('[data-testid=simulate-gpu-loss]');
  assert.equal(await waitForStatus(page, ['done', 'error']), 'done', await notices(page));
  // The loss lands during epoch 2 (or, if epoch 2 finished first, just after it).
  const said = (await notices(page)).match(/GPU device was lost after epoch (\d+); training continues on the CPU from the last completed epoch/);
  assert.ok(said, await notices(page));
  const lost = Number(said[1]);
  assert.ok(lost === 1 || lost === 2, `lost after epoch ${lost}`);
  assert.match(await page.textContent('[data-testid=training-backend]'), /on CPU/);
  assert.match(await page.textContent('[data-testid=epoch-progress]'), /Epoch 3 \/ 3/);
  assert.equal(await page.textContent('[data-testid=backend]'), 'CPU (the WebGPU device was lost)', 'the header follows');
  // The CPU went on from that epoch's weights: the history holds each epoch once, and the
  // first epoch on the CPU continues the descent (an untrained network would be back at
  // epoch 1's loss, about ln 6).
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Download history (CSV)')]);
  const rows = readFileSync(await download.path(), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  assert.deepEqual(rows.map((r) => r[0]), [1, 2, 3], `history: ${JSON.stringify(rows)}`);
  assert.ok(rows[lost][1] < rows[0][1] - 0.05, `loss of epoch ${lost + 1}, the first on the CPU: ${JSON.stringify(rows)}`);
  await shot(page, 'device-loss');
  // The model card names the adapter once, and the move to the CPU.
  const card = await modelCard(page);
  assert.match(card, /^- Trained on: WebGPU in the browser \(google swiftshader \(software\)\), then CPU after a GPU device loss$/m, card.match(/^- Trained on: .*$/m)?.[0]);
}));

// Losing the GPU while the time estimate runs the first batches: the estimate says so, and
// the page stops using that device (a run or an estimate after it is the CPU's).
test('a WebGPU device lost during the time estimate is said, and the CPU is used after it', { timeout: 900_000 }, () => onTheTrainStep(async (page) => {
  await page.click('[data-testid=estimate-time]');
  await page.waitForSelector('[data-testid=estimate-measuring]');
  await page.click('[data-testid=simulate-gpu-loss]');
  await page.waitForSelector('[data-testid=estimate], [data-testid=estimate-failed]', { timeout: 600_000 });
  const failed = await page.textContent('[data-testid=estimate-panel]');
  assert.match(failed, /No estimate: the GPU device was lost while this run's first batches were timed \(the browser said: [^)]+\); the page uses the CPU from now on: estimate again to time it/, failed);
  assert.equal(await page.textContent('[data-testid=backend]'), 'CPU (the WebGPU device was lost)', 'the header follows');
  await shot(page, 'device-loss-estimate');
  await page.click('[data-testid=estimate-time]');
  await page.waitForSelector('[data-testid=estimate], [data-testid=estimate-failed]', { timeout: 600_000 });
  const again = await page.textContent('[data-testid=estimate-panel]');
  assert.match(again, /About .+ on CPU(, 2 cores)? for 3 epoch\(s\)/, again);
}));
