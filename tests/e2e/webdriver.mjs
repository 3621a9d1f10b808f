// The browsers that Playwright cannot drive here, through W3C WebDriver: Debian's Firefox ESR
// (geckodriver, built from crates.io by scripts/setup.sh) and Debian's WebKitGTK, the engine
// Safari runs on (WebKitWebDriver and its MiniBrowser, on an Xvfb display: WebKitGTK has no
// headless mode). The client is selenium-webdriver from npm, connected to a driver this module
// starts itself (no Selenium Manager, which would try to download drivers).
//
// Chromium runs the same script through chromedriver, for the side-by-side figures.
//
// Every request a browser makes to a host other than the page's goes through a recording
// proxy that refuses it (`foreign`): the egress check of tests/e2e/egress.test.mjs, for
// browsers without Playwright's request interception.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { request as httpRequest, createServer } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Builder, By, until } from 'selenium-webdriver';
import { ARTIFACTS } from './helpers.mjs';

export { By, until };

const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const FIREFOX = '/usr/bin/firefox-esr';
const CHROMIUM = process.env.MEDCLASSIFY_CHROMIUM || '/usr/bin/chromium';
const GECKODRIVER = [process.env.GECKODRIVER, join(homedir(), '.cargo', 'bin', 'geckodriver'), '/usr/local/bin/geckodriver']
  .find((p) => p && existsSync(p));

/** Why `engine` cannot run here (null when it can): what is missing and how to get it. */
export function missing(engine) {
  if (engine === 'chromium') {
    if (!existsSync(CHROMIUM) || !existsSync('/usr/bin/chromedriver')) return 'chromium or chromedriver is missing: scripts/setup.sh --browser installs them';
  } else if (engine === 'firefox') {
    if (!existsSync(FIREFOX)) return `${FIREFOX} is missing: scripts/setup.sh --browser installs firefox-esr`;
    if (!GECKODRIVER) return 'geckodriver is missing: scripts/setup.sh --browser builds it (cargo install --locked geckodriver)';
  } else {
    if (!existsSync(MINIBROWSER)) return `${MINIBROWSER} is missing: scripts/setup.sh --browser installs webkit2gtk-driver`;
    if (spawnSync('which', ['WebKitWebDriver']).status !== 0) return 'WebKitWebDriver is missing: scripts/setup.sh --browser installs webkit2gtk-driver';
    if (spawnSync('which', ['Xvfb']).status !== 0) return 'Xvfb is missing: scripts/setup.sh --browser installs xvfb';
  }
  return null;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  await new Promise((ok) => server.close(ok));
  return port;
}

async function waitForHttp(url, ms = 30_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try { if ((await fetch(url)).status < 500) return; } catch { /* not up yet */ }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${ms / 1000} s`);
}

/**
 * Hosts a browser contacts on its own, with or without a page (seen here through the proxy):
 * Firefox fetches its Remote Settings from Mozilla even with `services.settings.server`
 * pointed elsewhere; Chromium started by chromedriver (not Playwright, which turns them off)
 * asks Google for the time, updates, accounts and autofill. They are refused like every other
 * host and kept apart from the page's requests (which the page's Content-Security-Policy would
 * stop before any of them anyway).
 */
const BROWSER_OWN = {
  firefox: ['firefox.settings.services.mozilla.com'],
  chromium: ['clients2.google.com', 'accounts.google.com', 'update.googleapis.com', 'content-autofill.googleapis.com', 'optimizationguide-pa.googleapis.com'],
  webkit: [],
};

/** A proxy that forwards requests for `origin` and records and refuses every other one. */
async function recordingProxy(origin, ownHosts) {
  const own = new URL(origin);
  const foreign = [];
  const browserOwn = [];
  const record = (url) => (ownHosts.some((host) => url.includes(`//${host}`)) ? browserOwn : foreign).push(url);
  const server = createServer((req, res) => {
    let target;
    try { target = new URL(req.url); } catch { target = null; }
    if (!target || target.host !== own.host) {
      record(req.url);
      res.writeHead(403).end('blocked by the test: not the page\'s origin');
      return;
    }
    const upstream = httpRequest({ host: own.hostname, port: own.port, path: target.pathname + target.search, method: req.method, headers: req.headers },
      (answer) => { res.writeHead(answer.statusCode, answer.headers); answer.pipe(res); });
    // The page's server is gone: the connection drops, as it does for a browser without the
    // proxy (WebKitGTK sends even localhost through it), not a 502 the page would take.
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req, socket) => {
    record(`https://${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { address: `127.0.0.1:${server.address().port}`, foreign, browserOwn, close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(ok); }) };
}

/**
 * Starts `engine` ('firefox' or 'webkit') through its WebDriver, its requests outside
 * `origin` recorded (`session.foreign`). Downloads are caught in the page: `session.blobs()`.
 */
export async function startBrowser(engine, origin) {
  const children = [];
  const start = (command, args, env = {}) => {
    // A process group of its own, so that stopping it stops what it started (the browser and
    // its web and network processes), which would otherwise go on using the cores for a while.
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, detached: true });
    const exited = new Promise((ok) => child.once('exit', ok));
    let log = '';
    const keep = (d) => { log = (log + d).slice(-4000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    children.push({ child, exited, log: () => log });
    return child;
  };
  const proxy = await recordingProxy(origin, BROWSER_OWN[engine] ?? []);
  const port = await freePort();
  const proxyCapability = { proxyType: 'manual', httpProxy: proxy.address, sslProxy: proxy.address };
  let capabilities;
  if (engine === 'chromium') {
    start('/usr/bin/chromedriver', [`--port=${port}`]);
    capabilities = {
      browserName: 'chrome',
      proxy: proxyCapability,
      'goog:chromeOptions': {
        binary: CHROMIUM,
        // As tests/e2e/helpers.mjs launches it, less WebGPU: this journey is the CPU's.
        // `<-loopback>`: loopback through the proxy too, as in Firefox below.
        args: ['--headless=new', '--no-sandbox', '--window-size=1280,1000', '--proxy-bypass-list=<-loopback>', '--disable-background-networking', '--disable-component-update',
          '--no-first-run', '--disable-sync', '--disable-default-apps', '--disable-domain-reliability', '--no-pings'],
      },
    };
  } else if (engine === 'firefox') {
    start(GECKODRIVER, [`--port=${port}`, `--binary=${FIREFOX}`]);
    capabilities = {
      browserName: 'firefox',
      proxy: proxyCapability,
      'moz:firefoxOptions': {
        binary: FIREFOX,
        args: ['-headless', '-width=1280', '-height=1000'],
        // Firefox sends nothing of its own: no telemetry, updates, safe browsing lists, captive
        // portal or connectivity checks (they would be recorded as foreign requests).
        prefs: {
          // Loopback goes through the proxy too (the page's own origin is forwarded), so that
          // a request to another local address is seen (engines.test.mjs's control).
          'network.proxy.allow_hijacking_localhost': true,
          // ... and stays a secure context (service workers) while it does.
          'network.proxy.testing_localhost_is_secure_when_hijacked': true,
          'app.update.enabled': false, 'toolkit.telemetry.enabled': false, 'datareporting.policy.dataSubmissionEnabled': false,
          'browser.safebrowsing.malware.enabled': false, 'browser.safebrowsing.phishing.enabled': false,
          'browser.safebrowsing.downloads.enabled': false, 'network.captive-portal-service.enabled': false,
          'network.connectivity-service.enabled': false, 'extensions.update.enabled': false,
          'browser.newtabpage.enabled': false, 'browser.startup.homepage': 'about:blank', 'network.dns.disablePrefetch': true,
          'browser.region.network.url': '', 'browser.search.geoip.url': '', 'media.gmp-manager.url': '',
          'extensions.getAddons.cache.enabled': false, 'browser.aboutHomeSnippets.updateUrl': '',
          // Remote Settings (blocklists and the like), as Firefox's own tests switch it off.
          'services.settings.server': 'data:,#remote-settings-dummy/v1',
        },
      },
    };
  } else {
    const display = `:${90 + (process.pid % 50)}`;
    start('Xvfb', [display, '-screen', '0', '1280x1000x24', '-nolisten', 'tcp']);
    await sleep(500);
    start('WebKitWebDriver', [`--port=${port}`], { DISPLAY: display });
    capabilities = {
      browserName: 'MiniBrowser',
      proxy: proxyCapability,
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation', '--geometry=1280x1000'] },
    };
  }
  const signal = (child, name) => { try { process.kill(-child.pid, name); } catch { /* gone */ } };
  const stop = async () => {
    await proxy.close();
    for (const { child, exited } of [...children].reverse()) {
      signal(child, 'SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) signal(child, 'SIGKILL');
      // Whatever else of the group is still there (the browser's own processes).
      await sleep(200);
      signal(child, 'SIGKILL');
    }
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/status`);
    // A browser that cannot start leaves the new-session request hanging, not failing.
    let timer;
    const driver = await Promise.race([
      new Builder().usingServer(`http://127.0.0.1:${port}`).withCapabilities(capabilities).build(),
      new Promise((_, fail) => {
        timer = setTimeout(() => fail(new Error(`${engine} did not start within 60 s: ${children.map((c) => c.log()).join('\n')}`)), 60_000);
      }),
    ]).finally(() => clearTimeout(timer));
    const caps = await driver.getCapabilities();
    return { driver, engine, version: `${caps.get('browserName')} ${caps.get('browserVersion')}`, foreign: proxy.foreign, browserOwn: proxy.browserOwn, stop: async () => { await driver.quit().catch(() => {}); await stop(); } };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A screenshot of the page to tests/e2e/artifacts/NAME.png. */
export async function screenshot(driver, name) {
  writeFileSync(join(ARTIFACTS, `${name}.png`), Buffer.from(await driver.takeScreenshot(), 'base64'));
}

/** The text of the first element matching `css` ('' when there is none). */
export async function text(driver, css) {
  return driver.executeScript('return document.querySelector(arguments[0])?.textContent ?? ""', css);
}

/** Waits until `predicate(driver)` is truthy; its last value. */
export async function waitFor(driver, what, predicate, ms = 600_000) {
  let last;
  await driver.wait(async () => { last = await predicate(driver); return last; }, ms, `waiting for ${what}`, 250);
  return last;
}

/** Waits until the engine has reported its backend. */
export async function waitForBoot(driver) {
  return waitFor(driver, 'the engine to boot', async (d) => {
    const shown = await text(d, '[data-testid=backend]');
    return /WebGPU|CPU/.test(shown) && shown;
  }, 300_000);
}

/** Clicks `css` once it is in view and has kept its place for 60 ms. A WebDriver click
 * lands at the point where the element was: one that moved meanwhile (a notice arriving above
 * it) gives the click to whatever took its place, and the test then waits for nothing. */
export async function click(driver, css) {
  await driver.executeAsyncScript(`const [css, done] = [arguments[0], arguments[arguments.length - 1]];
    const element = document.querySelector(css);
    element.scrollIntoView({ block: 'center' });
    let last = '', still = 0, checks = 0;
    const step = () => {
      const r = element.getBoundingClientRect(), place = [r.x, r.y, r.width, r.height].join();
      still = place === last ? still + 1 : 0;
      last = place;
      if (still >= 3 || ++checks > 100) done(); else setTimeout(step, 20);
    };
    step();`, css);
  await (await driver.findElement(By.css(css))).click();
}

export async function gotoStep(driver, id) {
  await click(driver, `#tab-${id}`);
  await driver.wait(until.elementLocated(By.css(`[aria-labelledby=${id === 'evaluate' ? 'eval' : id}-title]`)), 30_000);
}

/** Sets a `<select>` by value and tells the page (a `change` event, as a user's choice does). */
export async function select(driver, css, value) {
  await driver.executeScript(`const s = document.querySelector(arguments[0]); s.value = arguments[1];
    s.dispatchEvent(new Event('change', { bubbles: true })); s.dispatchEvent(new Event('input', { bubbles: true }));`, css, value);
}

/** Sets an input's value and tells the page (a `change`, as leaving the field after typing
 * does; typing over a number field's text differs between the engines' drivers). */
export async function fill(driver, css, value) {
  await driver.executeScript(`const i = document.querySelector(arguments[0]); i.value = arguments[1];
    i.dispatchEvent(new Event('input', { bubbles: true })); i.dispatchEvent(new Event('change', { bubbles: true }));`, css, String(value));
  const shown = await driver.executeScript('return document.querySelector(arguments[0]).value', css);
  if (shown !== String(value)) throw new Error(`${css} reads "${shown}" after setting "${value}"`);
}

/** Gives `files` (absolute paths) to a file input, as a user picking them does. */
export async function pickFiles(driver, css, files) {
  await (await driver.findElement(By.css(css))).sendKeys(files.join('\n'));
}

/** Keeps every Blob the page turns into a download URL (`window.__blobs`), for `blobs`. */
export async function catchDownloads(driver) {
  await driver.executeScript(`if (!window.__blobs) { window.__blobs = []; const make = URL.createObjectURL.bind(URL);
    URL.createObjectURL = (blob) => { window.__blobs.push(blob); return make(blob); }; }`);
}

/** The bytes of the `index`-th download the page made since `catchDownloads` (newest: -1). */
export async function download(driver, index = -1) {
  const base64 = await driver.executeAsyncScript(`const done = arguments[arguments.length - 1];
    const blob = window.__blobs.at(arguments[0]);
    if (!blob) return done(null);
    const reader = new FileReader(); reader.onload = () => done(reader.result.split(',')[1] || ''); reader.readAsDataURL(blob);`, index);
  return base64 === null ? null : Buffer.from(base64, 'base64');
}

/** Number of downloads caught so far. */
export async function downloads(driver) {
  return driver.executeScript('return (window.__blobs || []).length');
}

export async function status(driver) {
  return (await text(driver, '[data-testid=training-status]')).trim();
}

export async function waitForStatus(driver, values, ms = 900_000) {
  return waitFor(driver, `status ${values.join('/')}`, async (d) => { const s = await status(d); return values.includes(s) && s; }, ms);
}

export async function notices(driver) {
  return text(driver, '.notices');
}
