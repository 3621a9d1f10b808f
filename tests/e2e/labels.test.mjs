// Labels from a table and a patient-grouped split in the page: a flat folder of the shipped
// images with labels.csv (path, label, group); each image takes the table's label, an unlisted
// one is skipped with that reason, a row whose file is missing is reported; keeping the
// table's groups together, the downloaded manifest has a group column and no group in two
// subsets (checked here from the manifest), where the plain split put some group in two.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ARTIFACTS, FIXTURE, assertNoForeignRequests, launch, newContext, openApp, serve, shot } from './helpers.mjs';

function flatFolder() {
  const dir = join(ARTIFACTS, 'labelled');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'images'), { recursive: true });
  const rows = ['path,label,group'];
  for (const cls of readdirSync(FIXTURE).sort()) {
    readdirSync(join(FIXTURE, cls)).sort().forEach((file, i) => {
      const flat = `images/${cls}-${file}`;
      copyFileSync(join(FIXTURE, cls, file), join(dir, flat));
      rows.push(`${flat},${cls},${cls}-p${Math.floor(i / 4)}`);
    });
  }
  rows.push('images/gone.jpeg,Hand,x');
  writeFileSync(join(dir, 'labels.csv'), `${rows.join('\n')}\n`);
  copyFileSync(join(FIXTURE, 'Hand', '000000.jpeg'), join(dir, 'images', 'unlisted.jpeg'));
  return dir;
}

async function manifest(page) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Download manifest (CSV)')]);
  const [header, ...rows] = readFileSync(await download.path(), 'utf8').trim().split('\n').map((l) => l.split(','));
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

function subsetsPerGroup(rows) {
  const seen = new Map();
  for (const row of rows) {
    const { group } = row;
    if (!seen.has(group)) seen.set(group, new Set());
    seen.get(group).add(row.split);
  }
  return seen;
}

test('labels.csv labels a flat folder, and its groups are kept together', { timeout: 300_000 }, async () => {
  const dir = flatFolder();
  const server = await serve('/');
  const browser = await launch();
  const { context, foreign } = await newContext(browser, new URL(server.url).origin);
  try {
    const page = await openApp(context, server.url);
    await page.setInputFiles('[data-testid=folder-input]', dir);
    await page.waitForSelector('[data-testid=labels-report]');
    assert.match(await page.textContent('[data-testid=data-report]'), /247 images in 6 classes/);
    assert.match(await page.textContent('[data-testid=labels-report]'), /1 rows name files that are not here: images\/gone\.jpeg/);
    assert.match(await page.textContent('[data-testid=skipped-files]'), /unlisted\.jpeg[^]*not listed in labels\.csv/);
    const plain = await manifest(page);
    assert.equal(plain.length, 247);
    const table = new Map(readFileSync(join(dir, 'labels.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')).map(([p, l, g]) => [p, { label: l, group: g }]));
    assert.ok(plain.every((row) => table.get(row.path).label === row.class), 'every image has the label of its row');
    // The positive control: the plain split puts some group in two subsets.
    const plainGroups = subsetsPerGroup(plain.map((row) => ({ ...row, group: table.get(row.path).group })));
    assert.ok([...plainGroups.values()].some((s) => s.size > 1), 'a plain split splits some group');

    await page.selectOption('[data-testid=group-by]', 'csv:group');
    await page.click('text=Apply split');
    await page.waitForSelector('[data-testid=split-groups]');
    assert.match(await page.textContent('[data-testid=split-groups]'), /Kept together by the group column of labels\.csv/);
    const grouped = await manifest(page);
    // The oracle is the table's group of each path, not the manifest's own column (which a bug
    // could fill with one group per image); that column must be the table's too.
    assert.ok(grouped.every((row) => row.group === table.get(row.path).group), 'the manifest names each image\'s group from labels.csv');
    const subsets = subsetsPerGroup(grouped.map((row) => ({ ...row, group: table.get(row.path).group })));
    assert.ok(subsets.size > 40 && [...subsets.values()].every((s) => s.size === 1), 'no group in two subsets');
    await shot(page, 'labels-01-grouped');
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
