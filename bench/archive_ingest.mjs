// Ingest of the full MedNIST, side by side in one run: the native command on the extracted
// folder and on MedNIST.tar.gz, and the built page (dist/) given the folder (58,954 files
// picked) and the .tar.gz (one file picked), each timed from the pick to the report.
//   node bench/archive_ingest.mjs        (after scripts/test.sh or trunk build --release)
// Writes bench/results/archive-ingest-<date>.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI, ROOT, launch, newContext, openApp, serve } from '../tests/e2e/helpers.mjs';
import { writeRecord } from './record.mjs';

const archive = [join(ROOT, '..', 'shared', 'data', 'MedNIST.tar.gz'), '/work/shared/data/MedNIST.tar.gz'].find(existsSync);
if (!archive) throw new Error('../shared/data/MedNIST.tar.gz is missing');
const folder = join(process.env.MEDNIST_PARENT || join(homedir(), '.cache', 'medclassify'), 'MedNIST');
if (!existsSync(folder)) execFileSync('tar', ['xzf', archive, '-C', dirname(folder)]);

const rows = [];
const record = (what, seconds, note = '') => {
  rows.push({ what, seconds, note });
  console.log(`${what.padEnd(52)} ${seconds.toFixed(2)} s ${note}`);
};
const timed = (args) => {
  const started = process.hrtime.bigint();
  const out = execFileSync(CLI, args).toString();
  return [Number(process.hrtime.bigint() - started) / 1e9, out];
};

// The native runs three times each, alternating (the median counts; the file cache is warm
// after the first folder run).
const median = (xs) => [...xs].sort((a, b) => a - b)[1];
const folderRuns = [];
const archiveRuns = [];
let folderReport;
let archiveReport;
for (let i = 0; i < 3; i += 1) {
  const [f, fr] = timed(['inspect', folder]);
  const [a, ar] = timed(['inspect', archive]);
  folderRuns.push(f);
  archiveRuns.push(a);
  [folderReport, archiveReport] = [fr, ar];
}
const runs = (xs) => `(runs ${xs.map((x) => x.toFixed(2)).join(', ')} s)`;
record('native inspect, extracted folder (2 threads), median of 3', median(folderRuns), runs(folderRuns));
record('native inspect, MedNIST.tar.gz (2 threads), median of 3', median(archiveRuns),
  `${runs(archiveRuns)} ${archiveReport === folderReport ? '(same report)' : '(REPORT DIFFERS)'}`);

const server = await serve('/');
const browser = await launch();
try {
  for (const [what, input, source] of [
    ['page, the folder picked (58,954 files)', 'folder-input', folder],
    ['page, MedNIST.tar.gz picked (one file)', 'archive-input', archive],
  ]) {
    const { context } = await newContext(browser, new URL(server.url).origin);
    const page = await openApp(context, server.url);
    const started = Date.now();
    await page.setInputFiles(`[data-testid=${input}]`, source);
    await page.waitForFunction(() => /58954 images in 6 classes/.test(document.querySelector('[data-testid=data-report]')?.textContent ?? ''), null, { timeout: 900_000 });
    const seconds = (Date.now() - started) / 1000;
    const summary = (await page.textContent('[data-testid=data-report] .summary')).trim();
    record(what, seconds, `(the page says: ${summary.replace(/\s+/g, ' ')})`);
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
const page = rows[3].seconds;
const native = rows[0].seconds;
console.log(`page tar.gz / native folder: ${(page / native).toFixed(2)}x (goal: within 2x)`);
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
const file = writeRecord(join(ROOT, 'bench', 'results', `archive-ingest-${new Date().toISOString().slice(0, 10)}`), { date: new Date().toISOString(), commit, archive, folder, rows, ratio_page_archive_to_native_folder: page / native });
console.log(`wrote ${file}`);
