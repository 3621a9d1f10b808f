// The page's feature pass at 224 px, as a user starts it: the shipped sample loaded at 224 px,
// EfficientNet-Lite0 with the head only on the CPU (both cores), timed with the engine's own
// clock from the end of its first feature step to the end of step `steps` (or the last), then
// stopped. Shared by bench/inference.mjs (beside ONNX Runtime Web) and
// bench/feature_pass_ab.mjs (builds of the page against each other).
import {
  DIST, gotoStep, loadFolder, newContext, notices, openApp, serve, setEpochs, waitForStatus,
} from '../tests/e2e/helpers.mjs';

export const SIDE = 224;

/** An init script: the engine's feature events with their own clock (`seconds` since the
 * feature pass began, measured in the engine). */
function recordFeatures() {
  window.__features = [];
  const Original = window.Worker;
  window.Worker = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', ({ data }) => {
        const event = data?.Training?.event;
        if (event?.type === 'features') window.__features.push({ done: event.done, total: event.total, seconds: event.seconds });
      });
    }
  };
}

/** Times the feature pass of the page built in `root`; see the file's comment. */
export async function timeFeaturePass(browser, { root = DIST, steps = 9 } = {}) {
  const server = await serve('/', root);
  const { context } = await newContext(browser, new URL(server.url).origin);
  await context.addInitScript(recordFeatures);
  try {
    const page = await openApp(context, server.url);
    await gotoStep(page, 'data');
    await page.selectOption('select[aria-label="Image size"]', String(SIDE));
    await loadFolder(page);
    await gotoStep(page, 'train');
    await page.selectOption('[data-testid=preset-select]', 'efficientnet_lite0');
    await page.selectOption('[data-testid=transfer-select]', 'head');
    await page.selectOption('[data-testid=backend-select]', 'cpu');
    await setEpochs(page, 1);
    await page.click('[data-testid=start-training]');
    // Until `steps` steps or the whole pass (the sample's 211 training and validation images:
    // seven steps of 34 when the training helper takes half of each).
    await page.waitForFunction((n) => window.__features.length >= n || (window.__features.length > 1 && window.__features.at(-1).done === window.__features.at(-1).total), steps, { timeout: 600_000 });
    const events = await page.evaluate(() => window.__features);
    await page.click('[data-testid=stop-training]');
    await waitForStatus(page, ['idle', 'done', 'error']);
    const [first, last] = [events[0], events.at(-1)];
    const imagesPerSecond = (last.done - first.done) / (last.seconds - first.seconds);
    const backend = (await page.textContent('[data-testid=training-backend]')).trim();
    return { backend, imagesPerSecond, batch: first.done, timedImages: last.done - first.done, events, notices: await notices(page) };
  } finally {
    await context.close();
    await server.close();
  }
}
