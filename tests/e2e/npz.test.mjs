// A MedMNIST file in the page: the PneumoniaMNIST variant from ../shared/data loads at its own
// size (and at a pretrained network's, scaled) with its own split (the counts of its README, an account independent of the app), the
// imbalance is flagged, and a class-weighted CPU run, its callbacks watching the validation AUC
// (EarlyStopping after a warm-up epoch), trains and is assessed on its test array.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, assertNoForeignRequests, didNotRun, gotoStep, launch, newContext, notices, openApp, serve, setEpochs, shot, waitForStatus } from './helpers.mjs';

const NPZ = [join(ROOT, '..', 'shared', 'data', 'pneumoniamnist-variant.npz'), '/work/shared/data/pneumoniamnist-variant.npz'].find(existsSync);

test('a MedMNIST .npz loads with its own split, warns of the imbalance and trains class-weighted', { timeout: 600_000 }, async (t) => {
  // As the Rust tests (tests/common): missing shared data fails the test unless
  // MEDCLASSIFY_WITHOUT_FULL_DATA=1 says it is knowingly absent (then it says it did not run).
  if (!NPZ) {
    assert.equal(process.env.MEDCLASSIFY_WITHOUT_FULL_DATA, '1', '../shared/data/pneumoniamnist-variant.npz is missing; set MEDCLASSIFY_WITHOUT_FULL_DATA=1 to run without it');
    return didNotRun(t, '../shared/data/pneumoniamnist-variant.npz is missing (MEDCLASSIFY_WITHOUT_FULL_DATA=1)');
  }
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await openApp(context, server.url);
    await page.setInputFiles('[data-testid=npz-input]', NPZ);
    await page.waitForSelector('[data-testid=data-report]');
    assert.match(await page.textContent('[data-testid=data-report]'), /5030 images in 2 classes from 5030 files, stored as 28x28 grayscale/);
    assert.match(await page.textContent('[data-testid=split-from-file]'), /Split as given in the file/);
    const rows = await page.$$eval('[data-testid=split-table] tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())));
    // ../shared/data/README.md: train 388 / 3494, val 135 / 389, test 234 / 390.
    assert.deepEqual(rows, [['class 0', '757', '388', '135', '234'], ['class 1', '4273', '3494', '389', '390']]);
    assert.match(await notices(page), /the classes are imbalanced: class 1 has 4273 images, class 0 only 757/);
    await shot(page, 'npz-01-data');

    await gotoStep(page, 'train');
    await setEpochs(page, 3);
    await page.selectOption('[data-testid=backend-select]', 'cpu');
    await page.selectOption('[data-testid=class-weighting]', 'balanced');
    // Two classes: every callback watches the validation AUC.
    const monitors = await page.$$('.callbacks select');
    assert.equal(monitors.length, 3);
    for (const select of monitors) await select.selectOption('val_auc');
    // EarlyStopping with one epoch of warm-up (start_from_epoch) and no room to improve after
    // its first watched epoch (patience 1, min_delta 10): epoch 1 is not watched, epoch 2 is its
    // best, and it stops after epoch 3 with epoch 2's weights. Watching from epoch 1, it would
    // stop after epoch 2 and restore epoch 1.
    const early = page.locator('.callbacks .callback').first();
    for (const [name, value] of [['patience', '1'], ['min_delta', '10'], ['start_from_epoch', '1']]) {
      const input = early.locator(`label:has-text("${name}") input`);
      await input.fill(value);
      await input.press('Tab');
    }
    await page.click('[data-testid=start-training]');
    assert.equal(await waitForStatus(page, ['done', 'error']), 'done', await notices(page));
    const events = await page.textContent('[data-testid=callback-log]');
    assert.match(events, /val_auc has not improved on \d\.\d{5} \(epoch 2\) for 1 epoch\(s\); stopping/);
    assert.match(events, /restored the weights of epoch 2 \(val_auc/);
    // Each epoch's validation AUC is in the history, and ModelCheckpoint saved on it.
    const [historyDownload] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=history-download]')]);
    const history = readFileSync(await historyDownload.path(), 'utf8').trim().split('\n').map((l) => l.split(','));
    const aucColumn = history[0].indexOf('val_auc');
    assert.ok(aucColumn > 0, history[0].join());
    const valAuc = history.slice(1).map((row) => Number(row[aucColumn]));
    assert.equal(valAuc.length, 3);
    assert.ok(valAuc.every((v) => v > 0.75 && v <= 1), `val_auc ${valAuc}`);
    // ModelCheckpoint saved on the history's figures: first epoch 1's, last the best of them.
    const log = await page.textContent('[data-testid=callback-log]');
    const saved = [...log.matchAll(/val_auc (?:= |improved from \d\.\d{5} to )(\d\.\d{5}); model saved/g)].map((m) => Number(m[1]));
    assert.ok(saved.length >= 1, log);
    assert.ok(Math.abs(saved[0] - valAuc[0]) <= 5e-6 && Math.abs(saved.at(-1) - Math.max(...valAuc)) <= 5e-6, `saved ${saved}, history ${valAuc}`);
    await shot(page, 'npz-02-val-auc');
    await gotoStep(page, 'evaluate');
    assert.match(await page.textContent('.big-metric'), /of 624 test images/);
    const auc = await page.$$eval('[data-testid=intervals] [data-auc]', (cells) => cells.map((c) => Number(c.dataset.auc)));
    assert.equal(auc.length, 2);
    // Two classes: each one-vs-rest AUC is the same ranking; after two epochs it has learned.
    assert.ok(Math.abs(auc[0] - auc[1]) < 1e-9 && auc[0] > 0.75, `AUC ${auc}`);
    await page.waitForSelector('[data-testid=roc-chart] svg');
    await page.waitForSelector('[data-testid=pr-chart] svg');
    await shot(page, 'npz-03-evaluate');

    // The decision threshold: the page's counts at three thresholds against counts made here
    // from the page's own test-score export (independent arithmetic on the same scores).
    const [scoresDownload] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=test-scores]')]);
    const lines = readFileSync(await scoresDownload.path(), 'utf8').trim().split('\n');
    assert.deepEqual(lines[0].split(','), ['sample', 'true_class', 'p_class 0', 'p_class 1']);
    const scores = lines.slice(1).map((l) => l.split(',')).map(([, truth, , p1]) => ({ positive: truth === 'class 1', p: Number(p1) }));
    assert.equal(scores.length, 624);
    // The AUC shown is the probability that a positive outranks a negative (ties half),
    // counted here pair by pair from the exported scores.
    const pos = scores.filter((x) => x.positive).map((x) => x.p);
    const neg = scores.filter((x) => !x.positive).map((x) => x.p);
    let wins = 0;
    for (const a of pos) for (const b of neg) wins += a > b ? 1 : a === b ? 0.5 : 0;
    const pairwise = wins / (pos.length * neg.length);
    assert.ok(Math.abs(auc[0] - pairwise) < 1e-4, `page AUC ${auc[0]}, pairwise ${pairwise}`);
    const shown = async () => {
      const cells = await page.$eval('[data-testid=threshold-confusion]', (t) => ({ ...t.dataset }));
      const threshold = Number(await page.getAttribute('[data-testid=threshold-panel]', 'data-threshold'));
      const expected = { tp: 0, fp: 0, tn: 0, fn: 0 };
      for (const { positive, p } of scores) {
        const called = p >= threshold;
        expected[positive ? (called ? 'tp' : 'fn') : (called ? 'fp' : 'tn')] += 1;
      }
      assert.deepEqual({ tp: Number(cells.tp), fp: Number(cells.fp), tn: Number(cells.tn), fn: Number(cells.fn) }, expected, `at ${threshold}`);
      return { threshold, ...expected };
    };
    const atHalf = await shown();
    assert.equal(atHalf.threshold, 0.5);
    await page.click('[data-testid=threshold-youden]');
    const youden = Number((await page.textContent('[data-testid=threshold-youden]')).match(/\(([0-9.]+)\)/)[1]);
    const atYouden = await shown();
    assert.ok(Math.abs(atYouden.threshold - youden) < 5e-4 && atYouden.threshold !== 0.5, `Youden ${youden}, threshold ${atYouden.threshold}`);
    await page.fill('[data-testid=threshold-value]', '0.2');
    await page.press('[data-testid=threshold-value]', 'Tab');
    await page.waitForFunction(() => document.querySelector('[data-testid=threshold-panel]').dataset.threshold === '0.2');
    const atLow = await shown();
    // A lower threshold calls more images positive: sensitivity can only rise.
    assert.ok(atLow.tp >= atHalf.tp && atLow.fn <= atHalf.fn, JSON.stringify({ atLow, atHalf }));
    await shot(page, 'npz-04-threshold');

    // At a pretrained network's size (224 px) the same file is scaled up, and kept at 28 px:
    // 5030 x 28 x 28 bytes is 3.9 MB, where 224 px would be 252 MB. The Train step then finds
    // the size right for EfficientNet-Lite0.
    await gotoStep(page, 'data');
    await page.selectOption('select[aria-label="Image size"]', '224');
    await page.setInputFiles('[data-testid=npz-input]', NPZ);
    await page.waitForFunction(() => /stored as 224x224/.test(document.querySelector('[data-testid=data-report]')?.textContent ?? ''));
    const report = await page.textContent('[data-testid=data-report]');
    assert.match(report, /5030 images in 2 classes from 5030 files, stored as 224x224 grayscale/);
    const stored = Number(report.match(/\(([0-9.]+) MB of image data/)[1]);
    assert.ok(stored > 3.5 && stored < 10, report);
    await gotoStep(page, 'train');
    await page.selectOption('[data-testid=preset-select]', 'efficientnet_lite0');
    assert.match(await page.textContent('[data-testid=pretrained-notes]'), /Images are 224 x 224 px; it was pretrained at 224 px\./);
    await shot(page, 'npz-05-scaled');
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});

/** A `.npy` file: uint8 images of side 28 or int64 labels, as NumPy writes them. */
function npy(descr, shape, bytes) {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(head);
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), bytes]);
}

/** A zip of `entries` ([name, bytes]), stored uncompressed, as `numpy.savez` writes one. */
function zip(entries) {
  const locals = [];
  const central = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const fileName = Buffer.from(name);
    const fields = Buffer.alloc(26);
    fields.writeUInt16LE(20, 0);
    fields.writeUInt32LE(crc32(data), 10);
    fields.writeUInt32LE(data.length, 14);
    fields.writeUInt32LE(data.length, 18);
    fields.writeUInt16LE(fileName.length, 22);
    const local = Buffer.concat([Buffer.from([0x50, 0x4b, 3, 4]), fields, fileName, data]);
    // Comment length, disk, attributes (all zero), then the local header's offset.
    const tail = Buffer.alloc(14);
    tail.writeUInt32LE(offset, 10);
    central.push(Buffer.concat([Buffer.from([0x50, 0x4b, 1, 2, 20, 0]), fields, tail, fileName]));
    locals.push(local);
    offset += local.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

test('val_auc is refused by the class validation lacks, and val_loss trains the same file', { timeout: 300_000 }, async () => {
  // 6 images a subset, labels alternating, except that validation holds class 1 only.
  const entries = [];
  for (const subset of ['train', 'val', 'test']) {
    const images = Buffer.alloc(6 * 28 * 28);
    for (let i = 0; i < images.length; i++) images[i] = (i * 7 + subset.length * 31) % 251;
    const labels = Buffer.alloc(6 * 8);
    for (let i = 0; i < 6; i++) labels.writeBigInt64LE(subset === 'val' ? 1n : BigInt(i % 2), i * 8);
    entries.push([`${subset}_images.npy`, npy('|u1', [6, 28, 28], images)], [`${subset}_labels.npy`, npy('<i8', [6, 1], labels)]);
  }
  const file = join(mkdtempSync(join(tmpdir(), 'npz-val-auc-')), 'one-class-validation.npz');
  writeFileSync(file, zip(entries));
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await openApp(context, server.url);
    await page.setInputFiles('[data-testid=npz-input]', file);
    await page.waitForSelector('[data-testid=split-table]');
    const rows = await page.$$eval('[data-testid=split-table] tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())));
    assert.deepEqual(rows, [['class 0', '6', '3', '0', '3'], ['class 1', '12', '3', '6', '3']]);
    await gotoStep(page, 'train');
    // The ready model (six MedNIST classes) cannot continue on this file's two: no Resume.
    await page.waitForFunction(() => /bundled ready model.* · \d+ epochs/.test(document.querySelector('[data-testid=model-info]')?.textContent || ''), null, { timeout: 60_000 });
    assert.equal(await page.$('[data-testid=resume-training]'), null);
    await setEpochs(page, 1);
    await page.selectOption('[data-testid=backend-select]', 'cpu');
    for (const select of await page.$$('.callbacks select')) await select.selectOption('val_auc');
    await page.click('[data-testid=start-training]');
    await page.waitForFunction(() => /no image of class "class 0"/.test(document.body.textContent));
    assert.match(await notices(page), /val_auc.*validation split has no image of class "class 0"/);
    await shot(page, 'npz-06-val-auc-refused');
    for (const select of await page.$$('.callbacks select')) await select.selectOption('val_loss');
    await page.click('[data-testid=start-training]');
    assert.equal(await waitForStatus(page, ['done', 'error']), 'done', await notices(page));
    // The model trained on this file can: the button the ready model did not get.
    assert.equal(await page.textContent('[data-testid=resume-training]'), 'Resume after epoch 1');
    await shot(page, 'npz-07-resume-offered');
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
