import { chromium } from 'playwright-core';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
page.on('console', m => console.log('console', m.type(), m.text().slice(0, 300)));
page.on('worker', w => { console.log('worker', w.url()); w.on('console', m => console.log('wconsole', m.type(), m.text().slice(0,500))); });
page.on('pageerror', e => console.log('pageerror', e.message));
page.on('request', r => { if (!r.url().startsWith('http://127.0.0.1:8099')) console.log('FOREIGN', r.url()); });
await page.addInitScript(() => { const W = window.Worker; window.Worker = function(u, o) { const w = new W(u, o); w.addEventListener('message', e => { try { console.log('MSG', JSON.stringify(e.data, (k, v) => (v instanceof Uint8Array) ? `u8[${v.length}]` : v).slice(0, 300)); } catch (x) { console.log('MSG?', String(x)); } }); return w; }; });
await page.goto('http://127.0.0.1:8099/', { waitUntil: 'load' });
await page.waitForTimeout(8000);
console.log('backend:', await page.textContent('[data-testid=backend]'));
await page.screenshot({ path: '/tmp/shot-boot.png', fullPage: true });
await page.click('[data-testid=sample-data]');
try { await page.waitForSelector('[data-testid=data-report]', { timeout: 30000 }); } catch (e) { console.log('TIMEOUT'); }
console.log('notices:', await page.textContent('.notices'));
await page.waitForTimeout(500);
await page.screenshot({ path: '/tmp/shot-data.png', fullPage: true });
await page.click('#tab-train');
await page.fill('[data-testid=epochs-input]', '3');
await page.press('[data-testid=epochs-input]', 'Tab');
const t0 = Date.now();
await page.click('[data-testid=start-training]');
for (let i = 0; i < 120; i++) {
  const s = await page.textContent('[data-testid=training-status]');
  if (s === 'done' || s === 'error') break;
  await page.waitForTimeout(1000);
}
console.log('status', await page.textContent('[data-testid=training-status]'), (Date.now() - t0) / 1000, 's');
console.log('progress', await page.textContent('[data-testid=epoch-progress]'));
console.log('notices:', await page.textContent('.notices'));
await page.screenshot({ path: '/tmp/shot-train.png', fullPage: true });
await page.click('#tab-evaluate');
await page.waitForTimeout(500);
console.log('acc', await page.textContent('[data-testid=test-accuracy]').catch(() => 'none'));
await page.screenshot({ path: '/tmp/shot-eval.png', fullPage: true });
await browser.close();
