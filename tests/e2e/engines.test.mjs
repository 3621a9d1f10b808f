// The journey in every browser engine, driven through W3C WebDriver (tests/e2e/webdriver.mjs):
// Firefox ESR (Gecko), WebKitGTK's MiniBrowser (WebKit, Safari's engine) and Chromium (Blink,
// through chromedriver, so the three run the same script side by side). In each: open the
// page; Try sample data; open an archive through the file input; give a folder's files to the
// folder input (see `pickFolder`); train two epochs of the seed
// network on the CPU; evaluate; predict an uploaded image and explain it (Grad-CAM); save the
// model; reload and find it restored; export the model and ONNX; stop the server and reload
// (offline: the service worker serves the page). Every request to another host goes through
// a recording proxy and fails the test; the positive controls at the end: a navigation to a
// foreign host, and a page's and a worker's requests to a foreign host and to another
// loopback address, must all be recorded.
//
// Checked against the native command (independent of the page): the ONNX bytes equal
// `export-onnx` of the page's own model file, the prediction's class equals `predict`'s, and
// the test accuracy the page shows equals `predict` on the test split's files.
// Each engine's CPU training speed (images/s of epoch 2) goes to
// tests/e2e/artifacts/engines-<engine>.json (bench/engines.mjs puts them side by side).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { ARTIFACTS, CLI, FIXTURE, didNotRun, serve, testSplitAccuracy } from './helpers.mjs';
import {
  catchDownloads, click, download, fill, gotoStep, missing, notices, pickFiles, screenshot, select, startBrowser, text, waitFor,
  waitForBoot, waitForStatus,
} from './webdriver.mjs';

const ENGINES = (process.env.MEDCLASSIFY_ENGINES || 'firefox,webkit').split(',');

/** Clicks a button that makes a download; the downloaded bytes. */
async function downloaded(driver, css) {
  const before = await driver.executeScript('return window.__blobs.length');
  await click(driver, css);
  await waitFor(driver, `a download from ${css}`, async (d) => (await d.executeScript('return window.__blobs.length')) > before, 120_000);
  return download(driver);
}

/** Gives the folder `dir`'s files to the folder input, as a folder picked there gives them.
 * WebDriver cannot choose a folder (Element Send Keys takes files only: w3c/webdriver#1742;
 * WebKitGTK's driver sends an empty file), so the files go through a plain multiple-file input
 * (real files from the disk, as the browser gives them), each gets the `webkitRelativePath` a
 * folder pick sets, and the folder input shows them to the page's own `change` handler. The
 * files are copied under unique names first (`Class__name`): a class is in the path alone. */
async function pickFolder(driver, css, dir, engine) {
  const flat = join(ARTIFACTS, `engines-${engine}-folder`);
  rmSync(flat, { recursive: true, force: true });
  mkdirSync(flat, { recursive: true });
  const files = [];
  for (const label of readdirSync(dir)) {
    for (const name of readdirSync(join(dir, label))) {
      files.push(join(flat, `${label}__${name}`));
      copyFileSync(join(dir, label, name), files.at(-1));
    }
  }
  await driver.executeScript(`const input = document.createElement('input');
    input.type = 'file'; input.multiple = true; input.id = 'folder-files'; document.body.append(input);`);
  await pickFiles(driver, '#folder-files', files);
  const given = await driver.executeScript(`const [css, root] = arguments;
    const picked = document.getElementById('folder-files'), folder = document.querySelector(css);
    for (const file of picked.files) {
      const [label, name] = file.name.split('__');
      Object.defineProperty(file, 'webkitRelativePath', { value: root + '/' + label + '/' + name });
    }
    Object.defineProperty(folder, 'files', { configurable: true, get: () => picked.files });
    folder.dispatchEvent(new Event('change', { bubbles: true }));
    delete folder.files;
    picked.remove();
    return picked.files.length;`, css, 'MedNIST');
  assert.equal(given, files.length, `${engine}: the file input took ${given} of ${files.length} files`);
}

async function journey(engine) {
  const native = JSON.parse(execFileSync(CLI, ['inspect', FIXTURE, '--json']).toString());
  const zip = join(ARTIFACTS, `engines-${engine}.zip`);
  rmSync(zip, { force: true });
  execFileSync('python3', ['-m', 'zipfile', '-c', zip, 'MedNIST'], { cwd: dirname(FIXTURE) });
  const server = await serve('/');
  const origin = new URL(server.url).origin;
  const session = await startBrowser(engine, origin);
  const { driver } = session;
  const shot = (name) => screenshot(driver, `engines-${engine}-${name}`);
  const figures = { engine, browser: session.version };
  let serverUp = true;
  try {
    console.log(`${engine}: ${session.version}`);
    const started = Date.now();
    await driver.get(server.url);
    figures.backend = await waitForBoot(driver);
    figures.boot_seconds = (Date.now() - started) / 1000;
    console.log(`${engine}: booted in ${figures.boot_seconds.toFixed(1)} s, ${figures.backend}`);
    await shot('01-boot');

    // Try sample data, then the same images as an archive through the file input.
    // The sample's report reads like the archive's, and so can its "loaded" notice (the page
    // shows an identical message once): wait for both (the notice can come after the report),
    // dismiss every notice, then wait for the archive's own.
    const loaded = async (d) => /loaded 247 images/.test(await notices(d));
    const dismissed = async (d) => {
      await d.executeScript('document.querySelectorAll(".notices button").forEach((b) => b.click())');
      return !(await loaded(d));
    };
    await click(driver, '[data-testid=sample-data]');
    await waitFor(driver, 'the sample report and its notice', async (d) => (await loaded(d)) && /images in 6 classes/.test(await text(d, '[data-testid=data-report]')), 120_000);
    await waitFor(driver, 'the notices dismissed', dismissed, 10_000);
    await pickFiles(driver, '[data-testid=archive-input]', [zip]);
    const report = await waitFor(driver, 'the archive report', async (d) => {
      const shown = await text(d, '[data-testid=data-report]');
      return (await loaded(d)) && /247 images in 6 classes from 247 files/.test(shown) && shown;
    }, 180_000);
    assert.match(report, /3 groups, 4 redundant files|4 redundant/);
    await shot('02-archive');

    // The same images as a folder, through the folder input: the same report.
    await waitFor(driver, 'the notices dismissed', dismissed, 10_000);
    await pickFolder(driver, '[data-testid=folder-input]', FIXTURE, engine);
    const folderReport = await waitFor(driver, 'the folder report', async (d) => (await loaded(d)) && text(d, '[data-testid=data-report]'), 180_000);
    // (Only the load's time and the engine's memory may differ.)
    const same = (shown) => shown.replace(/engine memory [^;]+; loaded in [\d.]+ s/, '');
    assert.equal(same(folderReport), same(report), `${engine}: the folder's report differs from the archive's`);
    await shot('02b-folder');

    // Two epochs of the seed network on the CPU.
    await gotoStep(driver, 'train');
    await fill(driver, '[data-testid=epochs-input]', 2);
    await select(driver, '[data-testid=backend-select]', 'cpu');
    await click(driver, '[data-testid=start-training]');
    assert.equal(await waitForStatus(driver, ['done', 'error']), 'done', await notices(driver));
    assert.match(await text(driver, '[data-testid=epoch-progress]'), /Epoch 2 \/ 2/);
    figures.training_backend = await text(driver, '[data-testid=training-backend]');
    await catchDownloads(driver);
    const history = (await downloaded(driver, '[data-testid=history-download]')).toString().trim().split('\n');
    const columns = history[0].split(',');
    const epoch2 = history[2].split(',').map(Number);
    figures.images_per_second = epoch2[columns.indexOf('images_per_second')];
    console.log(`${engine}: epoch 2 at ${figures.images_per_second} images/s ${figures.training_backend}`);
    await shot('03-trained');

    // Evaluate: the shown accuracy, recounted by the native command on the saved model.
    await gotoStep(driver, 'evaluate');
    const shown = Number((await text(driver, '[data-testid=test-accuracy]')).replace('%', ''));
    assert.ok(Number.isFinite(shown), 'a test accuracy is shown');
    assert.equal(await driver.executeScript('return document.querySelectorAll("[data-testid=confusion-matrix] tbody tr").length'), 6);
    await shot('04-evaluate');
    await gotoStep(driver, 'train');
    const model = await downloaded(driver, '[data-testid=model-download]');
    assert.equal(model.subarray(0, 6).toString(), 'MEDCLS');
    const modelPath = join(ARTIFACTS, `engines-${engine}.mcmodel`);
    writeFileSync(modelPath, model);
    const [correct, total] = testSplitAccuracy(modelPath, FIXTURE, native);
    assert.ok(Math.abs(shown - (100 * correct) / total) < 0.006, `${engine}: page ${shown}%, predict ${correct} of ${total}`);
    figures.test_accuracy = shown;

    // Predict an uploaded image and explain it.
    await gotoStep(driver, 'predict');
    const hand = join(FIXTURE, 'Hand', '000000.jpeg');
    await pickFiles(driver, '[data-testid=predict-input]', [hand]);
    // The row's top class (its first bar) is the command's: the row's whole text lists the top
    // three classes, so "the row mentions it" would not test the prediction.
    const TOP = '[data-testid=prediction-result] tbody tr .bar-label';
    const top = await waitFor(driver, 'the prediction', async (d) => text(d, TOP), 60_000);
    const expected = JSON.parse(execFileSync(CLI, ['predict', '--model', modelPath, hand, '--json']).toString())[0].class;
    assert.equal(top, expected, `${engine}: page's top class "${top}", native ${expected}`);
    await click(driver, '[data-testid=prediction-result] tbody tr button');
    await waitFor(driver, 'the Grad-CAM heatmap', async (d) => d.executeScript('return document.querySelectorAll("[data-testid=explanation] canvas").length >= 2'), 120_000);
    // The map's values are the command's for the same file and model (the journey checks both
    // methods in Chromium on WebGPU; here the engine's CPU).
    const shownMap = JSON.parse((await downloaded(driver, '[data-testid=heatmap-download]')).toString());
    const nativeMap = JSON.parse(execFileSync(CLI, ['predict', '--model', modelPath, hand, '--explain', 'grad-cam', '--json']).toString())[0].heatmap;
    assert.deepEqual([shownMap.method, shownMap.class, shownMap.size, shownMap.values.length], ['grad_cam', nativeMap.class, nativeMap.size, nativeMap.values.length]);
    assert.deepEqual([Math.max(...shownMap.values), Math.max(...nativeMap.values)], [1, 1], `${engine}: a map without a maximum of 1`);
    const mapDifference = Math.max(...shownMap.values.map((v, i) => Math.abs(v - nativeMap.values[i])));
    console.log(`${engine}: Grad-CAM within ${mapDifference.toExponential(2)} of the command's`);
    assert.ok(mapDifference < 1e-5, `${engine}: the page's Grad-CAM differs from the command's by ${mapDifference}`);
    await shot('05-predict');

    // A DICOM file is decoded and classified too (the native command gives the same class).
    const dicom = join(dirname(FIXTURE), '..', '..', 'tests', 'fixtures', 'dicom', 'CT', 'ct-0.dcm');
    await pickFiles(driver, '[data-testid=predict-input]', [dicom]);
    const dicomRow = await waitFor(driver, 'the DICOM prediction', async (d) => {
      const shown = await text(d, '[data-testid=prediction-result] tbody tr');
      return shown.includes('ct-0.dcm') && shown;
    }, 60_000);
    const dicomTop = await text(driver, TOP);
    const dicomClass = JSON.parse(execFileSync(CLI, ['predict', '--model', modelPath, dicom, '--json']).toString())[0].class;
    assert.ok(!/cannot classify/.test(dicomRow), `${engine}: page "${dicomRow}"`);
    assert.equal(dicomTop, dicomClass, `${engine}: page's top class "${dicomTop}" for ct-0.dcm, native ${dicomClass}`);

    // ONNX: the page's bytes are the command's from the page's model file.
    const onnx = await downloaded(driver, '[data-testid=model-onnx]');
    const nativeOnnx = join(ARTIFACTS, `engines-${engine}-native.onnx`);
    execFileSync(CLI, ['export-onnx', '--model', modelPath, '--out', nativeOnnx]);
    assert.ok(onnx.length > 10_000 && onnx.equals(readFileSync(nativeOnnx)), `${engine}: the page's ONNX file differs from the command's`);

    // Reload: the model comes back from this browser's storage. (The page's address opened
    // again: geckodriver's Refresh bypasses the service worker, as Shift+Reload does.)
    await driver.get(server.url);
    await waitForBoot(driver);
    await gotoStep(driver, 'predict');
    await waitFor(driver, 'the restored model', async (d) => /restored from this browser/.test(await text(d, '[data-testid=model-info]')), 60_000);
    await shot('06-restored');

    // Offline: the server is gone, the service worker serves the page and the engine.
    figures.service_worker = await driver.executeAsyncScript(`const done = arguments[arguments.length - 1];
      if (!navigator.serviceWorker) return done('none');
      navigator.serviceWorker.ready.then((r) => done({ active: !!r.active, controlled: !!navigator.serviceWorker.controller }), (e) => done(String(e)));`);
    console.log(`${engine}: service worker ${JSON.stringify(figures.service_worker)}`);
    await server.close();
    serverUp = false;
    await driver.get(server.url);
    figures.offline_backend = await waitForBoot(driver);
    await gotoStep(driver, 'predict');
    await waitFor(driver, 'the restored model offline', async (d) => /restored from this browser/.test(await text(d, '[data-testid=model-info]')), 60_000);
    await shot('07-offline');

    // No request left the page's origin; the control: a foreign navigation is recorded.
    assert.deepEqual(session.foreign, [], `${engine}: requests left the page's origin: ${session.foreign.join(', ')}`);
    await driver.get('http://foreign.invalid/control').catch(() => {});
    await waitFor(driver, 'the proxy to record the control', async () => session.foreign.some((u) => u.includes('foreign.invalid')), 30_000);
    // And what a page and its worker send, to a foreign host and to another loopback address
    // (which browsers send past a proxy unless told not to): from a page without the app's
    // policy (about:blank), each of the four requests must be recorded.
    await driver.get('about:blank');
    await driver.executeScript(`for (const host of ['foreign.invalid', '127.0.0.2:47000']) {
        fetch('http://' + host + '/from-page').catch(() => {});
        const code = "fetch('http://" + host + "/from-worker').catch(() => {})";
        new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
      }`);
    const controls = ['foreign.invalid/from-page', 'foreign.invalid/from-worker', '127.0.0.2:47000/from-page', '127.0.0.2:47000/from-worker'];
    const unseen = () => controls.filter((c) => !session.foreign.some((u) => u.includes(c)));
    await waitFor(driver, 'the proxy to record a page\'s and a worker\'s requests', async () => unseen().length === 0, 30_000)
      .catch((error) => { throw new Error(`${engine}: not recorded: ${unseen().join(', ')} (${error.message})`); });
    writeFileSync(join(ARTIFACTS, `engines-${engine}.json`), JSON.stringify(figures, null, 1));
  } finally {
    await session.stop();
    if (serverUp) await server.close();
  }
}

for (const engine of ENGINES) {
  test(`the journey in ${engine} through WebDriver`, { timeout: 1_200_000 }, async (t) => {
    const why = missing(engine);
    if (why) return didNotRun(t, why);
    await journey(engine);
  });
}
