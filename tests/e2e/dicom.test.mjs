// DICOM in the page: the fixture folder written by pydicom (scripts/make_dicom_fixtures.py):
// CT windowed by the files' own 40/400, MONOCHROME1 radiographs inverted, a multi-frame file,
// RLE and JPEG inside DICOM, a file without extension; the report per class agrees with the
// native command's; the refused files are named with their reasons; another window for the
// set (bone) is applied and reported; every frame of the multi-frame file is taken when asked;
// a model trains and predicts a DICOM file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CLI, ROOT, assertNoForeignRequests, gotoStep, launch, newContext, notices, openApp, serve, setEpochs, shot, waitForStatus,
} from './helpers.mjs';

const DICOM = join(ROOT, 'tests', 'fixtures', 'dicom');

test('a folder of DICOM files loads windowed, reports per class, trains and predicts', { timeout: 600_000 }, async () => {
  const native = JSON.parse(execFileSync(CLI, ['inspect', DICOM, '--json']).toString());
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await openApp(context, server.url);
    await page.setInputFiles('[data-testid=folder-input]', DICOM);
    await page.waitForSelector('[data-testid=dicom-report]');
    const report = await page.textContent('[data-testid=data-report]');
    assert.match(report, new RegExp(`${native.images} images in 2 classes from ${native.files_seen} files`));
    const dicom = await page.textContent('[data-testid=dicom-report]');
    assert.match(dicom, /CT: 9 DICOM files: CT \(9\); 12 bits stored; MONOCHROME2; window file 40\/400 \(8\)/);
    assert.match(dicom, /1 multi-frame \(the middle frame used\); 5 patients/);
    assert.match(dicom, /XR: 8 DICOM files: CR \(8\); 8 bits stored; MONOCHROME1, MONOCHROME2/);
    const skipped = await page.textContent('[data-testid=skipped-files]');
    assert.match(skipped, /jpeg2000\.dcm[^]*JPEG 2000/);
    assert.match(skipped, /no-pixels\.dcm[^]*without pixel data/);
    await shot(page, 'dicom-01-data');

    await page.selectOption('[data-testid=dicom-window]', 'bone');
    await page.setInputFiles('[data-testid=folder-input]', DICOM);
    await page.waitForFunction(() => /bone 400\/1800/.test(document.querySelector('[data-testid=dicom-report]')?.textContent ?? ''));
    await page.selectOption('[data-testid=dicom-window]', 'from-file');
    // Every frame: the multi-frame file gives its three frames (two more images than files).
    await page.selectOption('[data-testid=dicom-frames]', 'every');
    await page.setInputFiles('[data-testid=folder-input]', DICOM);
    await page.waitForFunction(() => /every frame used: 3 images/.test(document.querySelector('[data-testid=dicom-report]')?.textContent ?? ''));
    assert.match(await page.textContent('[data-testid=data-report]'), new RegExp(`${native.images + 2} images in 2 classes from ${native.files_seen} files`));
    assert.match(await page.textContent('[data-testid=dicom-report]'), /window file 40\/400/);
    await page.selectOption('[data-testid=dicom-frames]', 'middle');
    await page.setInputFiles('[data-testid=folder-input]', DICOM);
    await page.waitForFunction(() => /the middle frame used/.test(document.querySelector('[data-testid=dicom-report]')?.textContent ?? ''));

    await gotoStep(page, 'train');
    // A few dozen files: one step an epoch, so enough epochs to learn CT from radiographs.
    await setEpochs(page, 30);
    await page.selectOption('[data-testid=backend-select]', 'cpu');
    await page.click('[data-testid=start-training]');
    assert.equal(await waitForStatus(page, ['done', 'error']), 'done', await notices(page));
    await gotoStep(page, 'predict');
    await page.setInputFiles('[data-testid=predict-input]', join(DICOM, 'CT', 'ct-multiframe.dcm'));
    await page.waitForSelector('[data-testid=prediction-result] tbody tr');
    const row = await page.textContent('[data-testid=prediction-result] tbody tr');
    assert.match(row, /ct-multiframe\.dcm/);
    assert.doesNotMatch(row, /cannot classify/);
    // A CT series is classified as CT (its class folder), the other class being radiographs.
    const top = await page.locator('[data-testid=prediction-result] tbody tr .bar-label').first().textContent();
    assert.equal(top, 'CT', row);
    await shot(page, 'dicom-02-predict');
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
