// The browser's file-reading floor for a folder (default: the full MedNIST), in the same
// headless Chromium as the tests: `node bench/read_files.mjs [FOLDER]`. See BENCHMARKS.md.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ROOT, launch, newContext } from '../tests/e2e/helpers.mjs';
import { startServer } from '../tests/e2e/server.mjs';

const folder = process.argv[2] || process.env.MEDNIST_DIR || join(homedir(), '.cache', 'medclassify', 'MedNIST');
if (!existsSync(folder)) throw new Error(`${folder} is missing: run node bench/run.mjs once, or name a folder`);
const server = await startServer({ root: ROOT, prefix: '/' });
const browser = await launch();
try {
  const { context } = await newContext(browser, new URL(server.url).origin);
  for (const mode of ['read', 'size']) {
    const page = await context.newPage();
    await page.goto(`${server.url}bench/page/read-files.html?mode=${mode}`);
    await page.setInputFiles('#folder', folder);
    await page.waitForFunction(() => window.result, null, { timeout: 600_000 });
    const r = await page.evaluate(() => window.result);
    console.log(`${mode === 'read' ? 'arrayBuffer()          ' : 'size, then arrayBuffer()'} ${r.files} files in ${(r.ms / 1000).toFixed(1)} s (${Math.round(r.files / (r.ms / 1000))} files/s)`);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
