// The automatic backend choice. On a software adapter (SwiftShader, the only one here) `auto`
// takes the CPU without measuring and says why; the probe itself (a few timed steps on
// WebGPU and on the CPU, the faster wins) is forced with the debug option "auto, probing even
// a software adapter" and must run, pick one and say both timings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoForeignRequests, gotoStep, launch, newContext, notices, openApp, serve, setEpochs, waitForStatus } from './helpers.mjs';

test('auto skips the probe on a software adapter; forced, the probe measures both and picks one', { timeout: 900_000 }, async () => {
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    // Each run in a page of its own, so that its `done` is its own.
    const run = async (backend) => {
      const page = await openApp(context, `${server.url}?debug=1`);
      await page.click('[data-testid=sample-data]');
      await page.waitForSelector('[data-testid=data-report]');
      await gotoStep(page, 'train');
      await setEpochs(page, 1);
      await page.selectOption('[data-testid=backend-select]', backend);
      await page.click('[data-testid=start-training]');
      assert.equal(await waitForStatus(page, ['done', 'error']), 'done', await notices(page));
      const text = await page.textContent('[data-testid=training-backend]');
      await page.close();
      return text;
    };
    const plain = await run('auto');
    assert.match(plain, /on CPU.*auto: the WebGPU adapter \(.*\) is a software emulation/);
    const probed = await run('auto-probe');
    const m = probed.match(/on (WebGPU|CPU).*auto: probe (\d+) ms\/step on (WebGPU|the CPU) vs (\d+) ms\/step on (WebGPU|the CPU)/);
    assert.ok(m, `the probe's verdict: ${probed}`);
    const [, chosen, fast, fastName, slow] = m;
    // Both were timed: a step takes at least a millisecond on either, and under a minute.
    assert.ok(Number(fast) >= 1 && Number(slow) < 60_000, `probe timings: ${probed}`);
    assert.ok(Number(fast) <= Number(slow), probed);
    assert.equal(chosen === 'WebGPU' ? 'WebGPU' : 'the CPU', fastName, 'the faster one is used');
    console.log(`forced probe: ${probed}`);
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
