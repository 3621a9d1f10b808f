// A new build deployed over an old one, with the old one's service worker in charge: the
// reload takes the new build whole (its engine.js, not the old one from the cache beside the
// new wasm), and the new service worker replaces the old build's cache.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ARTIFACTS, DIST, assertNoForeignRequests, launch, newContext, openApp, waitForBoot } from './helpers.mjs';
import { startServer } from './server.mjs';

const version = (dir) => readFileSync(join(dir, 'sw.js'), 'utf8').match(/const VERSION = "([^"]*)"/)[1];

test('an update is taken whole: the new engine.js, then the new cache only', { timeout: 600_000 }, async () => {
  const base = join(ARTIFACTS, 'update');
  rmSync(base, { recursive: true, force: true });
  mkdirSync(base, { recursive: true });
  const [a, b, live] = ['a', 'b', 'live'].map((n) => join(base, n));
  cpSync(DIST, a, { recursive: true, dereference: true });
  cpSync(DIST, b, { recursive: true, dereference: true });
  // Build B: another engine.js (same wasm) and so another version.
  writeFileSync(join(b, 'engine.js'), `${readFileSync(join(b, 'engine.js'), 'utf8')}\nself.medclassifyEngineBuild = 'B';\n`);
  // Its service worker installs slowly (a large precache over a slow network), so the reload
  // below is served by A's service worker, as after a real deployment: its install waits until
  // the test releases it (a file appearing on the server), not for a fixed time that a slow
  // reload could outlast.
  writeFileSync(join(b, 'sw.js'), readFileSync(join(b, 'sw.js'), 'utf8')
    .replace(/const VERSION = "[^"]*"/, `const VERSION = "${version(a)}-b"`)
    .replace('const cache = await caches.open(CACHE);', "while (!(await fetch('./release-install.txt', { cache: 'no-store' })).ok) await new Promise((ok) => setTimeout(ok, 200));\n    const cache = await caches.open(CACHE);"));
  assert.match(readFileSync(join(b, 'sw.js'), 'utf8'), /release-install\.txt/);
  symlinkSync(a, live);

  const server = await startServer({ root: live, prefix: '/' });
  const browser = await launch();
  const origin = new URL(server.url).origin;
  const { context, foreign } = await newContext(browser, origin, { intercept: false });
  try {
    const page = await openApp(context, server.url);
    await page.evaluate(async () => { await navigator.serviceWorker.ready; });
    await page.waitForFunction((v) => caches.has(`medclassify-${v}`), version(a));

    // Deploy B over A, then reload under A's service worker.
    rmSync(live);
    symlinkSync(b, live);
    await page.reload();
    await waitForBoot(page);
    // Asked of the engine worker itself (a console message from its first lines could come
    // before a listener is attached to the new worker).
    const engineBuild = async () => {
      const engine = page.workers().find((w) => w.url().endsWith('engine.js'));
      return engine ? engine.evaluate(() => self.medclassifyEngineBuild ?? 'A').catch(() => null) : null;
    };
    let build = null;
    for (let i = 0; i < 100 && build !== 'B'; i++) {
      build = await engineBuild();
      if (build !== 'B') await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.equal(build, 'B', "the engine runs build B's engine.js, not the old one from the cache");
    // ... while B's service worker had not installed (its install is held until released
    // below, before it opens its cache): only A's cache exists, and B's worker is installing.
    const ours = async () => (await caches.keys()).filter((k) => k.startsWith('medclassify-'));
    assert.deepEqual(await page.evaluate(ours), [`medclassify-${version(a)}`], "B's cache does not exist yet");
    await page.waitForFunction(async () => Boolean((await navigator.serviceWorker.getRegistration())?.installing), null, { timeout: 60_000 });
    writeFileSync(join(b, 'release-install.txt'), 'go');
    // B's service worker takes over and keeps B's cache only.
    await page.waitForFunction(async (v) => {
      const keys = (await caches.keys()).filter((k) => k.startsWith('medclassify-'));
      return keys.length === 1 && keys[0] === `medclassify-${v}`;
    }, `${version(a)}-b`);
    assertNoForeignRequests(foreign);
  } finally {
    await browser.close();
    await server.close();
  }
});
