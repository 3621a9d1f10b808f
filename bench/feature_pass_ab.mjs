// The page's feature pass at 224 px (EfficientNet-Lite0, head only, CPU, the shipped sample),
// images/s, for several builds of the page alternated in one browser: to compare code changes
// on the same machine in the same minutes (its speed drifts by a fifth between minutes).
//
//   node bench/feature_pass_ab.mjs ROUNDS DIST [DIST ...]
//
// Each DIST is a copy of `dist/` after `trunk build --release` of one variant.
import { gotoStep, launch, loadFolder, newContext, openApp, serve, setEpochs, waitForStatus } from '../tests/e2e/helpers.mjs';
const rounds = Number(process.argv[2]);
const roots = process.argv.slice(3);
const browser = await launch();
async function row(root) {
  const server = await serve('/', root);
  const { context } = await newContext(browser, new URL(server.url).origin);
  await context.addInitScript(() => {
    window.__features = [];
    const Original = window.Worker;
    window.Worker = class extends Original {
      constructor(...args) {
        super(...args);
        this.addEventListener('message', ({ data }) => {
          const e = data?.Training?.event;
          if (e?.type === 'features') window.__features.push({ done: e.done, total: e.total, seconds: e.seconds });
        });
      }
    };
  });
  const page = await openApp(context, server.url);
  await gotoStep(page, 'data');
  await page.selectOption('select[aria-label="Image size"]', '224');
  await loadFolder(page);
  await gotoStep(page, 'train');
  await page.selectOption('[data-testid=preset-select]', 'efficientnet_lite0');
  await page.selectOption('[data-testid=transfer-select]', 'head');
  await page.selectOption('[data-testid=backend-select]', 'cpu');
  await setEpochs(page, 1);
  await page.click('[data-testid=start-training]');
  await page.waitForFunction(() => window.__features.length >= 7 || (window.__features.length > 1 && window.__features.at(-1).done === window.__features.at(-1).total), null, { timeout: 600_000 });
  const ev = await page.evaluate(() => window.__features);
  await page.click('[data-testid=stop-training]');
  await waitForStatus(page, ['idle', 'done', 'error']);
  await context.close();
  await server.close();
  // From the end of the first feature step to the end of the seventh (or the last).
  const [f, l] = [ev[0], ev.at(-1)];
  return (l.done - f.done) / (l.seconds - f.seconds);
}
for (let r = 0; r < rounds; r++) {
  for (const root of roots) console.log(`${root} ${(await row(root)).toFixed(2)} images/s`);
}
await browser.close();
