// Bad input in the page: every skipped file is listed with its reason, a class too small to
// split is named, a wrong model file is refused and the current model stays.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ARTIFACTS, FIXTURE, ROOT, assertNoForeignRequests, gotoStep, launch, loadFolder, newContext, notices, openApp, serve, shot } from './helpers.mjs';

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (~crc) >>> 0;
}

/** A valid 1x1 PNG whose header then claims 30000 x 30000 pixels. */
function pngBomb() {
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b550000000a49444154789c6360000000020001e221bc330000000049454e44ae426082', 'hex');
  png.writeUInt32BE(30000, 16);
  png.writeUInt32BE(30000, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

function badFolder() {
  const dir = join(ARTIFACTS, 'bad-folder');
  rmSync(dir, { recursive: true, force: true });
  for (const cls of ['Hand', 'CXR', 'HeadCT']) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (const f of readdirSync(join(FIXTURE, cls)).slice(0, cls === 'HeadCT' ? 2 : 8)) copyFileSync(join(FIXTURE, cls, f), join(dir, cls, f));
  }
  const jpeg = readFileSync(join(FIXTURE, 'Hand', '000000.jpeg'));
  writeFileSync(join(dir, 'Hand', 'cut-short.jpeg'), jpeg.subarray(0, jpeg.length >> 1));
  writeFileSync(join(dir, 'Hand', 'empty.jpeg'), '');
  writeFileSync(join(dir, 'Hand', 'notes.jpg'), 'a text file named like a picture\n');
  writeFileSync(join(dir, 'Hand', 'bomb.png'), pngBomb());
  writeFileSync(join(dir, 'Hand', '.DS_Store'), Buffer.from([0, 0, 0, 1, 66, 117, 100, 49]));
  writeFileSync(join(dir, 'README.txt'), 'about this folder');
  return dir;
}

/** The ready model with its JSON header changed by `edit`, written to the artifacts. */
function crafted(name, edit) {
  const bytes = readFileSync(join(ROOT, 'www', 'models', 'seed-mednist.mcmodel'));
  const length = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.subarray(12, 12 + length).toString());
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const size = Buffer.alloc(4);
  size.writeUInt32LE(json.length);
  const path = join(ARTIFACTS, name);
  writeFileSync(path, Buffer.concat([bytes.subarray(0, 8), size, json, bytes.subarray(12 + length)]));
  return path;
}

test('bad files are listed with reasons, a tiny class is named, bad model files are refused', { timeout: 300_000 }, async () => {
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await openApp(context, server.url);
    await gotoStep(page, 'predict');
    await page.waitForFunction(() => /bundled ready model/.test(document.querySelector('[data-testid=model-info]')?.textContent || ''), null, { timeout: 60_000 });

    // A model file that is not one: refused, the ready model stays.
    const notModel = join(ARTIFACTS, 'not-a-model.mcmodel');
    writeFileSync(notModel, 'definitely not a model');
    await page.setInputFiles('[data-testid=model-upload]', notModel);
    await page.waitForFunction(() => /not a MedClassify model file/.test(document.querySelector('.notices')?.textContent || ''));
    assert.match(await page.textContent('[data-testid=model-info]'), /bundled ready model/);

    // Crafted from the ready model: a dropout Burn would panic on is refused, naming the
    // field; a diverged history (a loss of 1e308, a NaN) loads and its charts stay finite.
    await page.setInputFiles('[data-testid=model-upload]', crafted('dropout.mcmodel', (h) => { h.model.dropout = 1.5; }));
    await page.waitForFunction(() => /dropout is 1\.5/.test(document.querySelector('.notices')?.textContent || ''));
    assert.match(await page.textContent('[data-testid=model-info]'), /bundled ready model/);
    await page.setInputFiles('[data-testid=model-upload]', crafted('diverged.mcmodel', (h) => {
      h.history[0].loss = 1e308;
      h.history[1].val_loss = 'NaN';
    }));
    await page.waitForFunction(() => /loaded from a file/.test(document.querySelector('[data-testid=model-info]')?.textContent || ''));
    await gotoStep(page, 'train');
    const charts = await page.locator('[data-testid=loss-chart] svg').innerHTML();
    assert.ok(charts.length > 100, 'the loss chart is drawn');
    assert.doesNotMatch(charts, /NaN|Infinity|\binf\b/, 'no coordinate in the chart is infinite or NaN');
    await shot(page, 'bad-input-diverged-model');
    await gotoStep(page, 'predict');

    // A folder with bad files and a class of two images.
    await loadFolder(page, badFolder());
    await page.click('[data-testid=skipped-files] summary');
    const skipped = await page.textContent('[data-testid=skipped-files]');
    for (const [file, reason] of [
      ['Hand/cut-short.jpeg', 'truncated'], ['Hand/empty.jpeg', 'empty file'], ['Hand/notes.jpg', 'not an image'],
      ['Hand/bomb.png', 'too large: 30000 x 30000'], ['Hand/.DS_Store', 'hidden'], ['README.txt', 'outside a class folder'],
    ]) {
      assert.match(skipped, new RegExp(`${file.replace('.', '\\.')}\\s*${reason}`), `${file} should be skipped as ${reason}`);
    }
    assert.match(await page.textContent('[data-testid=data-report]'), /18 images in 3 classes from 24 files/);
    assert.match(await notices(page), /class "HeadCT" has only 2 distinct image\(s\)/);
    await shot(page, 'bad-input-data');

    // The ready model (6 classes) does not fit 3-class data: refused with the reason, and the
    // current model (the crafted one loaded above) stays.
    await gotoStep(page, 'predict');
    await page.setInputFiles('[data-testid=model-upload]', join(ROOT, 'www', 'models', 'seed-mednist.mcmodel'));
    await page.waitForFunction(() => /has 6 classes .* the loaded data has 3/.test(document.querySelector('.notices')?.textContent || ''));
    assert.match(await page.textContent('[data-testid=model-info]'), /loaded from a file/);

    // Training cannot start without a valid split, and says why: the split's own reason.
    await gotoStep(page, 'train');
    assert.equal(await page.isDisabled('[data-testid=start-training]'), true);
    assert.match(await page.textContent('[data-testid=train-blocked]'), /this one failed: class "HeadCT" has only 2 distinct image\(s\)/);
    await shot(page, 'bad-input-train');
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
