// The page's feature pass at 224 px (EfficientNet-Lite0, head only, CPU, the shipped sample),
// images/s, for several builds of the page alternated in one browser: to compare code changes
// on the same machine in the same minutes (its speed drifts by a fifth between minutes).
//
//   node bench/feature_pass_ab.mjs ROUNDS DIST [DIST ...]
//
// Each DIST is a copy of `dist/` after `trunk build --release` of one variant; each run is
// timed from the end of the first feature step to the seventh (bench/feature_pass.mjs).
import { launch } from '../tests/e2e/helpers.mjs';
import { timeFeaturePass } from './feature_pass.mjs';

const rounds = Number(process.argv[2]);
const roots = process.argv.slice(3);
const browser = await launch();
try {
  for (let r = 0; r < rounds; r++) {
    for (const root of roots) {
      const { imagesPerSecond } = await timeFeaturePass(browser, { root, steps: 7 });
      console.log(`${root} ${imagesPerSecond.toFixed(2)} images/s`);
    }
  }
} finally {
  await browser.close();
}
