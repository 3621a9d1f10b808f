// Transfer learning in the page, as a user does it: the shipped MedNIST images loaded at
// 128 px, EfficientNet-Lite0 with the head alone, trained on the CPU. The weights come from
// the page's own server, once, with the download shown; the accuracy the page shows is
// counted again apart from it (the native `predict` on the test split's files, against their
// class folders); after a reload with the network cut, a new run still starts (the service
// worker kept the weights), and no request leaves the page's origin.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ARTIFACTS, CLI, FIXTURE, assertNoForeignRequests, assertRowsAsNative, didNotRun, gotoStep, heatmapDifference, launch, loadFolder, newContext, notices,
  openApp, predictionRows, recordPredictSharing, serve, setEpochs, shot, testSplitAccuracy, waitForBoot, waitForStatus,
} from './helpers.mjs';

// Lite0's heatmaps in the page against the command's (native CPU), both scaled to a maximum of
// 1, on the page's CPU (wasm) and on WebGPU. Grad-CAM agrees everywhere: 1.0e-6 (wasm CPU,
// 128 px) and 1.7e-6 (WebGPU, 64 px) at worst. Saliency agrees to 1e-7 on 98 % of its pixels
// but not in a patch or two the size of an early unit's receptive field: 28 pixels at the
// bottom edge, up to 3.9e-3 (wasm CPU, 128 px), and, in a one-off run on WebGPU at 128 px, 150
// pixels up to 0.065 (L1 difference 1.7e-3 of the map's). That is what one ReLU6 unit whose
// value sits at a bound (its gradient 0 or 1 by a rounding) does; unproven. So saliency is held
// to 98 % of its pixels within 1e-6 and an L1 difference under 1 % of its L1 norm; the seed
// network's saliency maps this kind of check found wrong on WebGPU (tests/webgpu.rs) had a
// correlation of 0.19 with the CPU's.
const LITE0_GRAD_CAM_WORST = 1e-5;
const LITE0_SALIENCY_P98 = 1e-6;
const LITE0_SALIENCY_L1 = 1e-2;

/** Explains the Predict step's first row with both methods (Grad-CAM first) and checks each
 * map's values against `predict --explain` on `modelPath` and `file`. */
async function assertHeatmapsAsNative(page, modelPath, file, label) {
  const row = page.locator('[data-testid=prediction-result] tbody tr').first();
  await row.locator('button', { hasText: 'Grad-CAM' }).click();
  await page.waitForSelector('[data-testid=explanation] canvas');
  for (const [method, title] of [['grad-cam', 'Grad-CAM'], ['saliency', 'input-gradient saliency']]) {
    if (method === 'saliency') await page.click('text=Show input-gradient saliency');
    await page.waitForFunction((t) => document.querySelector('[data-testid=explanation] h3')?.textContent.includes(t), title);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=heatmap-download]')]);
    const shownMap = JSON.parse(readFileSync(await download.path(), 'utf8'));
    const nativeMap = JSON.parse(execFileSync(CLI, ['predict', '--model', modelPath, file, '--explain', method, '--json']).toString())[0].heatmap;
    const { worst, p98, l1, figures } = heatmapDifference(shownMap, nativeMap, `transfer-heatmap-${label}-${method}`);
    console.log(`Lite0 ${method} (${label}): the page's map against the command's: ${figures}`);
    const agrees = method === 'grad-cam' ? worst < LITE0_GRAD_CAM_WORST : p98 < LITE0_SALIENCY_P98 && l1 < LITE0_SALIENCY_L1;
    assert.ok(agrees, `Lite0 ${method} (${label}): the page's map differs from the command's: ${figures}`);
  }
}

/** An init script: every text the download line and the features line show, in order
 * (each can be on screen briefly). */
function recordProgressLines() {
  window.__lines = { download: [], features: [] };
  new MutationObserver(() => {
    for (const kind of ['download', 'features']) {
      const text = document.querySelector(`[data-testid=${kind}-progress]`)?.textContent;
      const seen = window.__lines[kind];
      if (text && seen.at(-1) !== text) seen.push(text);
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
}

/** The test accuracy the page shows, recounted apart from it: the page's model file saved to
 * `modelPath`, the native `predict` on the test split's files against their class folders
 * (`native`: the folder's `inspect --json`). Returns (correct, total). */
async function recountAccuracy(page, native, modelPath) {
  await gotoStep(page, 'evaluate');
  const shown = Number((await page.textContent('[data-testid=test-accuracy]')).replace('%', ''));
  await gotoStep(page, 'train');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=model-download]')]);
  await download.saveAs(modelPath);
  const [correct, total] = testSplitAccuracy(modelPath, FIXTURE, native);
  console.log(`page ${shown}%, native predict ${correct} of ${total}`);
  assert.ok(Math.abs(shown - (100 * correct) / total) < 0.006, `page ${shown}%, predict ${correct} of ${total}`);
  return [correct, total];
}

// The page with the sample loaded at 64 px and EfficientNet-Lite0 chosen in the Train step.
async function lite0At64(context, url) {
  const page = await openApp(context, url);
  await gotoStep(page, 'data');
  await page.selectOption('select[aria-label="Image size"]', '64');
  await loadFolder(page);
  await gotoStep(page, 'train');
  await page.selectOption('[data-testid=preset-select]', 'efficientnet_lite0');
  return page;
}

async function startRun(page, epochs) {
  await setEpochs(page, epochs);
  await page.selectOption('[data-testid=backend-select]', 'cpu');
  await page.click('[data-testid=start-training]');
  assert.equal(await waitForStatus(page, ['done', 'error']), 'done', await notices(page));
}

test('EfficientNet-Lite0, head only: weights from the page once, trains, counted apart, offline again', { timeout: 900_000 }, async () => {
  const native = JSON.parse(execFileSync(CLI, ['inspect', FIXTURE, '--json']).toString());
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin, { intercept: false });
  await context.addInitScript(recordProgressLines);
  const weightsRequests = () => server.requests.filter((path) => path.includes('/weights/'));
  try {
    const page = await openApp(context, server.url);
    // The first load does not fetch the weights: only a run of the pretrained network does.
    await page.evaluate(async () => { await navigator.serviceWorker.ready; });
    assert.deepEqual(weightsRequests(), []);
    await gotoStep(page, 'data');
    await page.selectOption('select[aria-label="Image size"]', '128');
    await loadFolder(page);
    assert.match(await page.textContent('[data-testid=data-report]'), /247 images in 6 classes/);

    await gotoStep(page, 'train');
    await page.selectOption('[data-testid=preset-select]', 'efficientnet_lite0');
    await page.selectOption('[data-testid=transfer-select]', 'head');
    const notes = await page.textContent('[data-testid=pretrained-notes]');
    assert.match(notes, /the new head only; the pretrained backbone stays frozen/);
    assert.match(notes, /Images are 128 x 128 px; it was pretrained at 224 px/);
    assert.match(notes, /Apache-2\.0/);
    // Before the run: about how long it will take here, timed on the run's first batches
    // (the weights are downloaded for it). The oracle is the run's own clock below.
    await setEpochs(page, 4);
    await page.selectOption('[data-testid=backend-select]', 'cpu');
    await page.click('[data-testid=estimate-time]');
    await page.waitForSelector('[data-testid=estimate], [data-testid=estimate-failed]', { timeout: 600_000 });
    const estimateText = await page.textContent('[data-testid=estimate-panel]');
    assert.match(estimateText, /^Estimate the timeAbout .+ on CPU(, 2 cores)? for 4 epoch\(s\)/, estimateText);
    // The counts are the native split's of the same folder.
    const count = (split) => native.manifest.filter((row) => row.split === split).length;
    assert.ok(estimateText.includes(`the frozen backbone's features of ${count('train')} training and ${count('validation')} validation images, once`), estimateText);
    const estimated = Number(await page.getAttribute('[data-testid=estimate]', 'data-seconds'));
    await shot(page, 'transfer-01-settings');
    const started = Date.now();
    await startRun(page, 4);
    const ran = (Date.now() - started) / 1000;
    console.log(`4 epochs of EfficientNet-Lite0 (head) at 128 px on the CPU: ${ran.toFixed(0)} s, estimated ${estimated.toFixed(0)} s before (${estimateText})`);
    // Within a factor of three (the page's clock also counts the reports and the redraws).
    assert.ok(ran / estimated > 1 / 3 && ran / estimated < 3, `estimated ${estimated} s, ran ${ran} s`);
    assert.ok(await page.$('[data-testid=estimate]'), 'the estimate stays while the settings do');
    await setEpochs(page, 5);
    assert.equal(await page.$('[data-testid=estimate]'), null, 'an estimate goes when a setting changes');
    await shot(page, 'transfer-02-trained');

    // One download, from this server, shown while it ran, and checked.
    assert.equal(weightsRequests().length, 1, weightsRequests().join(', '));
    assert.match(weightsRequests()[0], /^\/weights\/efficientnet-lite0\.safetensors$/); // (the server logs the path without the query)
    const lines = await page.evaluate(() => window.__lines);
    assert.ok(lines.download.some((text) => /^Downloading the EfficientNet-Lite0 \(ImageNet-pretrained\) weights from this page's server: .* of 18\.8 MB/.test(text)),
      `the download line showed: ${JSON.stringify(lines.download)}`);
    assert.equal(await page.$('[data-testid=download-progress]'), null, 'the download line goes when the run starts');
    // The frozen backbone's features of the training and validation images, computed once
    // (counted from the native split of the same folder), before the head's epochs.
    const cached = native.manifest.filter((row) => row.split === 'train' || row.split === 'validation').length;
    assert.ok(lines.features.some((text) => text.startsWith("Computing the frozen backbone's features once: ") && text.includes(` of ${cached} images`)),
      `the features line showed: ${JSON.stringify(lines.features)}`);

    // The accuracy shown, counted again by the native command from the model the page made.
    const modelPath = join(ARTIFACTS, 'transfer-head.mcmodel');
    const [correct, total] = await recountAccuracy(page, native, modelPath);
    assert.ok(correct >= 0.8 * total, `four epochs of the head on pretrained features: ${correct} of ${total} right`);

    // The ONNX export of this network (grouped convolutions, ReLU6, residual adds) is the
    // native command's byte for byte; tests/onnx_export.rs runs that file in onnxruntime.
    const [onnxDownload] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=model-onnx]')]);
    assert.match(onnxDownload.suggestedFilename(), /^medclassify-efficientnet_lite0-128px\.onnx$/);
    const nativeOnnx = join(ARTIFACTS, 'transfer-native.onnx');
    execFileSync(CLI, ['export-onnx', '--model', modelPath, '--out', nativeOnnx]);
    assert.ok(readFileSync(await onnxDownload.path()).equals(readFileSync(nativeOnnx)), 'the page and the command export the same ONNX bytes');

    // New images are classified (the sample's 247 files: the engine's scoring shared with a
    // replica on the second core, as the files left would take over 2 s alone) as the native command classifies
    // them with the same model file, and one is explained (Grad-CAM on the last convolution).
    await gotoStep(page, 'predict');
    const shared = recordPredictSharing(page);
    const sample = readdirSync(FIXTURE).sort().flatMap((c) => readdirSync(join(FIXTURE, c)).sort().map((f) => join(FIXTURE, c, f)));
    const first = join(FIXTURE, 'Hand', '000000.jpeg');
    const picked = [first, ...sample.filter((path) => path !== first)];
    const predicted = JSON.parse(execFileSync(CLI, ['predict', '--model', modelPath, ...picked, '--json']).toString());
    const predicting = Date.now();
    await page.setInputFiles('[data-testid=predict-input]', picked);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=prediction-result] tbody tr').length === n, picked.length, { timeout: 300_000 });
    console.log(`Predict of ${picked.length} files at 128 px: ${((Date.now() - predicting) / 1000).toFixed(1)} s`);
    assertRowsAsNative(await predictionRows(page), picked, predicted);
    assert.deepEqual(shared, [`${picked.length} true`]);
    const row = page.locator('[data-testid=prediction-result] tbody tr').first();
    assert.equal(await row.locator('.bar-label').first().textContent(), 'Hand');
    await assertHeatmapsAsNative(page, modelPath, first, 'wasm CPU');
    await shot(page, 'transfer-03-predict');

    // Offline after a reload: the engine starts again without the weights in memory, and the
    // service worker answers for them.
    await context.setOffline(true);
    await page.reload();
    await waitForBoot(page);
    await gotoStep(page, 'data');
    await page.selectOption('select[aria-label="Image size"]', '128');
    await loadFolder(page);
    await gotoStep(page, 'train');
    await page.selectOption('[data-testid=preset-select]', 'efficientnet_lite0');
    await startRun(page, 1);
    await shot(page, 'transfer-04-offline');
    await context.setOffline(false);
    assert.equal(weightsRequests().length, 1, 'the weights were downloaded once in all');
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});

test('EfficientNet-Lite0 trains its head first, then fine-tunes its top blocks on WebGPU (SwiftShader), and predicts like the native command', { timeout: 900_000 }, async (t) => {
  const native = JSON.parse(execFileSync(CLI, ['inspect', FIXTURE, '--json']).toString());
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await lite0At64(context, server.url);
    await page.selectOption('[data-testid=transfer-select]', 'top');
    // Head first (linear probing, then fine-tuning): offered only where more than the head
    // trains.
    await page.check('[data-testid=head-first]');
    // The backbone's learning rate, a fraction of the head's (0.1 unless set).
    assert.equal(await page.inputValue('[data-testid=backbone-lr]'), '0.1');
    await page.fill('[data-testid=backbone-lr]', '0.25');
    await page.press('[data-testid=backbone-lr]', 'Tab');
    await setEpochs(page, 1);
    await page.selectOption('[data-testid=backend-select]', 'webgpu');
    const started = Date.now();
    await page.click('[data-testid=start-training]');
    assert.equal(await waitForStatus(page, ['done', 'error']), 'done', await notices(page));
    assert.match(await notices(page), /the new head was trained first, alone on the frozen backbone's features \(1 epoch; kept epoch 1: validation loss \d/);
    console.log(`one epoch of EfficientNet-Lite0 (top blocks) at 64 px on WebGPU (SwiftShader): ${((Date.now() - started) / 1000).toFixed(0)} s`);
    assert.match(await page.textContent('[data-testid=training-backend]'), /^on WebGPU/);
    await shot(page, 'transfer-05-webgpu');
    // Three messages stack above the steps here; one button closes them all, and goes with them.
    assert.ok(await page.locator('.notice').count() >= 2, await notices(page));
    await page.click('[data-testid=dismiss-all]');
    await page.waitForFunction(() => document.querySelectorAll('.notice').length === 0 && !document.querySelector('[data-testid=dismiss-all]'));
    // The weights trained on WebGPU, read back into a model file, predict on the native CPU
    // what the page shows (the page's test accuracy, recounted by `predict`).
    const modelPath = join(ARTIFACTS, 'transfer-top-webgpu.mcmodel');
    const [correct, total] = await recountAccuracy(page, native, modelPath);
    // The Evaluate step lists exactly the test images the command gets wrong, and a listed
    // image's "Why?" explains the class its caption names.
    await gotoStep(page, 'evaluate');
    const wrong = page.locator('[data-testid=misclassified] figure');
    assert.equal(await wrong.count(), total - correct);
    if (total > correct) {
      const caption = await wrong.first().locator('figcaption span').textContent();
      const predicted = caption.match(/→ (\S+) \(/)[1];
      await wrong.first().locator('button', { hasText: 'Why?' }).click();
      await page.waitForSelector('[data-testid=explanation] h3');
      assert.match(await page.textContent('[data-testid=explanation] h3'), new RegExp(`^Why "${predicted}"\\? Grad-CAM`));
      // EfficientNet-Lite0 halves the side five times: at 64 px its last convolution is 2 x 2.
      assert.match(await page.textContent('[data-testid=heatmap-coarse]'), /only 2 x 2 cells \(the last convolution's grid for a 64 px image\)/);
      await shot(page, 'transfer-05-why');
    } else {
      // One epoch at 64 px has left 1 of 36 wrong in every recorded run; should a run get all
      // right, the "Why?" check did not run, and says so (under CI that fails).
      didNotRun(t, 'every test image right: no misclassified image for the "Why?" check');
    }
    await gotoStep(page, 'train');
    const card = execFileSync(CLI, ['card', '--model', modelPath]).toString();
    assert.match(card, /- Trained: the new head first, alone on the frozen backbone's features; then the top blocks and the head; the lower backbone stays frozen \(the backbone's learning rate 0\.25 times the head's\)/);
    // The heatmaps of the model on WebGPU, against the command's on the CPU.
    await gotoStep(page, 'predict');
    const hand = join(FIXTURE, 'Hand', '000000.jpeg');
    await page.setInputFiles('[data-testid=predict-input]', [hand]);
    await page.waitForSelector('[data-testid=prediction-result] tbody tr');
    await assertHeatmapsAsNative(page, modelPath, hand, 'WebGPU');
    await shot(page, 'transfer-06-webgpu-saliency');
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});

test('EfficientNet-Lite0 keeps ImageNet\'s BatchNorm statistics, or fits them to the images first when asked, for the head alone or fine-tuned', { timeout: 900_000 }, async () => {
  const native = JSON.parse(execFileSync(CLI, ['inspect', FIXTURE, '--json']).toString());
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await lite0At64(context, server.url);
    await page.selectOption('[data-testid=transfer-select]', 'top');
    // Not offered for the top blocks (not measured): they keep ImageNet's statistics.
    assert.equal(await page.locator('[data-testid=adapt-norm]').count(), 0);
    assert.match(await page.textContent('[data-testid=pretrained-notes]'), /Its BatchNorm layers keep ImageNet's statistics\./);
    await page.selectOption('[data-testid=transfer-select]', 'head');
    assert.ok(!(await page.isChecked('[data-testid=adapt-norm]')), 'off by default');
    const keeps = /Its BatchNorm layers keep ImageNet's statistics \(the box below fits them to your images instead: that helped where the classes were different kinds of scan/;
    assert.match(await page.textContent('[data-testid=pretrained-notes]'), keeps);
    const cards = [];
    for (const [transfer, adapt] of [['head', true], ['all', true], ['all', false]]) {
      await page.selectOption('[data-testid=transfer-select]', transfer);
      if (adapt) {
        await page.check('[data-testid=adapt-norm]');
        assert.match(await page.textContent('[data-testid=pretrained-notes]'), /its BatchNorm layers take their statistics from up to 128 of your training images/);
        await page.locator('[data-testid=adapt-norm]').scrollIntoViewIfNeeded();
        await shot(page, `transfer-06-adapt-norm-${transfer}`);
      } else {
        await page.uncheck('[data-testid=adapt-norm]');
        assert.match(await page.textContent('[data-testid=pretrained-notes]'), keeps);
      }
      await startRun(page, 1);
      // The page's model, counted by the native command: its statistics travel in the file.
      const modelPath = join(ARTIFACTS, `transfer-${transfer}-${adapt ? 'adapted' : 'imagenet'}-norm.mcmodel`);
      await recountAccuracy(page, native, modelPath);
      cards.push(execFileSync(CLI, ['card', '--model', modelPath]).toString());
      await gotoStep(page, 'train');
    }
    const fitted = /- The backbone's BatchNorm statistics: re-estimated on \(up to 128 of\) the training images before the first epoch, then frozen/;
    assert.match(cards[0], fitted);
    assert.match(cards[0], /- Trained: the new head only/);
    assert.match(cards[1], fitted);
    assert.match(cards[2], /- The backbone's BatchNorm statistics: ImageNet's, frozen/);
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
