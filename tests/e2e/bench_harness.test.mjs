// The benchmark harness pages load their peer libraries: TensorFlow.js under the bench server's
// harness policy (bench/harness.mjs) initialises with its four backends, as bench/run.mjs needs
// it; under the product's policy it cannot (the positive control: this is how the TF.js rows
// once stopped, silently). Seconds, not a benchmark.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { harnessHeaders } from '../../bench/harness.mjs';
import { ROOT, launch } from './helpers.mjs';
import { startServer } from './server.mjs';

const TFJS = join(ROOT, 'bench', 'node_modules', '@tensorflow', 'tfjs', 'dist', 'tf.min.js');

async function tfjsState(browser, headersFor) {
  const server = await startServer({ root: ROOT, prefix: '/', headersFor });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${server.url}bench/page/tfjs.html`);
    await page.waitForLoadState('load');
    const state = await page.evaluate(async () => ({
      setBackend: typeof globalThis.tf?.setBackend === 'function',
      backends: globalThis.tf?.engine ? Object.keys(tf.engine().registryFactory).sort() : [],
      harness: typeof globalThis.runBench === 'function',
      cpu: globalThis.tf?.setBackend ? await tf.setBackend('cpu').then(() => tf.tensor([1, 2]).sum().dataSync()[0]) : null,
    }));
    return { ...state, errors };
  } finally {
    await page.close();
    await server.close();
  }
}

test('the TensorFlow.js harness initialises under its own policy, and not under the product\'s', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(TFJS), 'bench/node_modules is missing: scripts/setup.sh --browser installs it (npm ci in bench/)');
  const browser = await launch();
  try {
    const harness = await tfjsState(browser, harnessHeaders);
    assert.deepEqual(harness.errors, []);
    assert.equal(harness.setBackend, true, 'tf.setBackend exists');
    assert.deepEqual(harness.backends, ['cpu', 'wasm', 'webgl', 'webgpu']);
    assert.equal(harness.harness, true, 'the harness script ran');
    assert.equal(harness.cpu, 3, 'a tensor computes on the cpu backend');
    const product = await tfjsState(browser, () => ({}));
    assert.equal(product.setBackend, false, "under the product's policy TF.js must not start (else the harness test proves nothing)");
    assert.ok(product.errors.some((e) => /unsafe-eval|EvalError|Content Security Policy/i.test(e)), product.errors.join(' | '));
  } finally {
    await browser.close();
  }
});
