// Kernel tuning in the page. SwiftShader, the only adapter here, is a software adapter, so the
// page leaves tuning off and says why; the `?debug=1` test hook treats it as a GPU and has the
// device refuse every candidate at an odd index besides the candidates SwiftShader refuses by
// itself. Then the refusals are caught and skipped (no WebGPU error reaches training), the
// winners are kept in IndexedDB under the adapter's key with no refused candidate among them,
// the second visit starts from them, and training reaches the untuned run's test accuracy
// (same seed and data; the per-step comparison with the CPU is tests/webgpu.rs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoForeignRequests, gotoStep, launch, newContext, notices, openApp, serve, setEpochs, shot, waitForStatus } from './helpers.mjs';

/** The winners the page kept, read from IndexedDB directly. */
async function storedTuning(page) {
  return page.evaluate(() => new Promise((ok, fail) => {
    const open = indexedDB.open('medclassify');
    open.onerror = () => fail(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('tuning')) { db.close(); ok([]); return; }
      const request = db.transaction('tuning').objectStore('tuning').getAll();
      request.onsuccess = () => {
        db.close();
        ok(request.result.map((bytes) => JSON.parse(new TextDecoder().decode(bytes))));
      };
      request.onerror = () => fail(request.error);
    };
  }));
}

test('tuning is off on a software adapter; forced, refused candidates are skipped, winners kept and reused', { timeout: 1_800_000 }, async () => {
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    // One epoch on WebGPU in a page of its own, under the tuning test hook `hook`.
    let runs = 0;
    const run = async (hook) => {
      const page = await openApp(context, `${server.url}?debug=1`);
      await page.selectOption('[data-testid=tuning-test-hook]', hook);
      await page.click('[data-testid=sample-data]');
      await page.waitForSelector('[data-testid=data-report]');
      await gotoStep(page, 'train');
      await setEpochs(page, 1);
      await page.selectOption('[data-testid=backend-select]', 'webgpu');
      const started = Date.now();
      await page.click('[data-testid=start-training]');
      assert.equal(await waitForStatus(page, ['done', 'error'], 1_200_000), 'done', await notices(page));
      const seconds = (Date.now() - started) / 1000;
      const said = await notices(page);
      await shot(page, `tuning-${hook}-${++runs}`);
      // (Its positive control, a real WebGPU error during a run: webgpu_errors.test.mjs.)
      assert.doesNotMatch(said, /WebGPU reported \d+ error/, 'no WebGPU error reached training');
      await gotoStep(page, 'evaluate');
      const accuracy = Number((await page.textContent('[data-testid=test-accuracy]')).replace('%', ''));
      const tested = (await page.$$eval('[data-testid=confusion-matrix] button.cell', (cells) => cells.map((c) => Number(c.textContent))))
        .reduce((a, b) => a + b, 0);
      const stored = await storedTuning(page);
      await page.close();
      console.log(`${hook}: ${seconds.toFixed(0)} s, test accuracy ${accuracy}% of ${tested}; ${said.match(/Kernel tuning[^.]*\./g)?.join(' ')}`);
      return { said, accuracy, tested, stored, seconds };
    };

    const untuned = await run('normal');
    assert.match(untuned.said, /Kernel tuning is off: the adapter is a software emulation/);
    assert.doesNotMatch(untuned.said, /shapes tuned now/);
    assert.deepEqual(untuned.stored, [], 'nothing tuned, nothing kept');

    const tuned = await run('hardware-refuse');
    assert.match(tuned.said, /Kernel tuning is on: test hook/);
    const m = tuned.said.match(/Kernel tuning: (\d+) shapes tuned now, (\d+) from this browser's earlier runs; (\d+) candidate kernels refused by the device were skipped/);
    assert.ok(m, tuned.said);
    const [, tunedNow, recalled, refused] = m.map(Number);
    assert.ok(tunedNow > 0 && recalled === 0 && refused > 0, m[0]);
    // The store, read directly: one entry for this adapter and these versions, no refused
    // (odd-index) candidate among its winners.
    assert.equal(tuned.stored.length, 1);
    const [entry] = tuned.stored;
    assert.match(entry.store_key, /^kernel-tuning\|google\|swiftshader\|.*\|medclassify .*\|burn 0\.22\.1\|cubecl 0\.11\.3$/);
    const winners = Object.entries(entry.winners);
    assert.ok(winners.length >= tunedNow - 2 && winners.length <= tunedNow, `${winners.length} winners kept, ${tunedNow} tuned`);
    for (const [key, winner] of winners) {
      assert.equal(winner.fastest % 2, 0, `a refused candidate won ${key}: ${JSON.stringify(winner)}`);
    }
    // Same seed, data and epochs: the tuned kernels compute what the untuned ones do.
    const oneImage = 100 / untuned.tested;
    assert.equal(tuned.tested, untuned.tested);
    assert.ok(Math.abs(tuned.accuracy - untuned.accuracy) <= oneImage + 1e-6,
      `tuned ${tuned.accuracy}% vs untuned ${untuned.accuracy}% (one image is ${oneImage.toFixed(2)}%)`);

    // The second visit starts from the kept winners.
    const second = await run('hardware-refuse');
    const again = second.said.match(/Kernel tuning: (\d+) shapes tuned now, (\d+) from this browser's earlier runs/);
    assert.ok(again, second.said);
    const [, tunedAgain, recalledAgain] = again.map(Number);
    // (Not every kept key recurs: some arise only inside a candidate being measured.)
    assert.ok(recalledAgain > 0 && tunedAgain < tunedNow, again[0]);
    assert.ok(Math.abs(second.accuracy - untuned.accuracy) <= oneImage + 1e-6,
      `second visit ${second.accuracy}% vs untuned ${untuned.accuracy}%`);
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
