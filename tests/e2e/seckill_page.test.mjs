// Headless Chromium opens web/seckill.html on the real daemon: the countdown runs on server
// time until the sale opens, the buy button is then enabled, and a purchase ends in a result.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonRequest, startDaemon } from './lib/daemon.mjs';
import { launchBrowser, newPage } from './lib/browser.mjs';

let daemon;
let browser;

before(async () => {
  // The browser first: its start-up is slow on a busy machine and must not eat the countdown.
  browser = await launchBrowser();
  daemon = await startDaemon({
    overrides: {
      // Opens 20 s after the daemon starts (Chromium may take seconds to launch on a busy machine): the page must count down, then open by itself.
      sales: [{ id: 'e2e', name: 'E2E flash sale', stock: 2, start_at: '+20s', end_at: '+1h',
        per_user_limit: 1, process_rate_per_s: 0 }],
      auctions: [],
      default_topics: [],
      rate_limit: { per_user_per_s: 1000, per_user_burst: 1000, per_ip_per_s: 100000,
        per_ip_burst: 100000 },
    },
  });
});

after(async () => {
  if (browser) await browser.close();
  if (daemon) await daemon.cleanup();
});

test('the seckill page counts down, opens and shows the purchase result', { timeout: 120000 },
  async () => {
    const page = await newPage(browser);
    await page.goto(daemon.url('/seckill.html?saleId=e2e&userId=e2e-buyer'));
    // Before the start: upcoming, a countdown that shrinks, the button disabled.
    await page.waitForFunction(() => document.getElementById('phase').textContent === 'upcoming',
      null, { timeout: 15000 }).catch(async (e) => {
      throw new Error(`phase "${await page.textContent('#phase')}", errors ${page.errors}: ${e.message}`);
    });
    const first = await page.textContent('#countdown');
    assert.match(first, /^00:(0[0-9]|1[0-9]|20)$/);
    assert.equal(await page.isDisabled('#buy'), true);
    assert.equal(await page.textContent('#stock'), '2');
    assert.equal(await page.inputValue('#user-id'), 'e2e-buyer');

    // The server opens the sale; the page follows without a reload.
    await page.waitForFunction(() => document.getElementById('phase').textContent === 'open',
      null, { timeout: 30000 });
    await page.waitForFunction(() => !document.getElementById('buy').disabled);
    await page.click('#buy');
    await page.waitForFunction(() => /Success! Order e2e-1/.test(
      document.getElementById('result').textContent), null, { timeout: 10000 });
    assert.equal(await page.textContent('#position'), '1');
    assert.equal(await page.textContent('#ahead'), '0');
    await page.waitForFunction(() => document.getElementById('stock').textContent === '1');

    // The server agrees with what the page shows.
    const r = await jsonRequest(daemon.url('/api/sales/e2e/result?userId=e2e-buyer'));
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'success');
    assert.equal(r.json.orderId, 'e2e-1');

    // A second buyer takes the last unit and the first page sees the sale sell out.
    const other = await jsonRequest(daemon.url('/api/seckill'), 'POST', { userId: 'second' });
    assert.equal(other.status, 200, other.text);
    await page.waitForFunction(() => document.getElementById('phase').textContent === 'sold out',
      null, { timeout: 10000 });
    assert.deepEqual(page.errors, []);
  });
