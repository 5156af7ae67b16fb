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
        per_user_limit: 1, process_rate_per_s: 0 },
      // Open at once and worked off at one order a second: buyers wait in the queue.
      { id: 'slow', name: 'Slow queue', stock: 4, start_at: '+0s', end_at: '+1h',
        per_user_limit: 1, process_rate_per_s: 1 },
      { id: 'outage', name: 'Outage', stock: 5, start_at: '+0s', end_at: '+1h',
        per_user_limit: 1, process_rate_per_s: 1 }],
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
    const other = await jsonRequest(daemon.url('/api/seckill'), 'POST', { userId: 'second', saleId: 'e2e' });
    assert.equal(other.status, 200, other.text);
    await page.waitForFunction(() => document.getElementById('phase').textContent === 'sold out',
      null, { timeout: 10000 });
    assert.deepEqual(page.errors, []);
  });

// Console errors other than the failed loads a test provokes on purpose.
const realErrors = (page) => page.errors.filter((e) => !/Failed to load resource/.test(e));

test('a queued buyer sees their place, never "sold out"; a late visitor sees why the button is off',
  { timeout: 60000 }, async () => {
    const page = await newPage(browser);
    await page.goto(daemon.url('/seckill.html?saleId=slow&userId=slow-buyer'));
    await page.waitForFunction(() => !document.getElementById('buy').disabled, null,
      { timeout: 15000 });
    // Three buyers ahead, then this page takes the last unit: the sale is sold out (every unit
    // reserved) while this buyer still waits for theirs.
    for (const userId of ['slow-1', 'slow-2', 'slow-3']) {
      const r = await jsonRequest(daemon.url('/api/seckill'), 'POST', { userId, saleId: 'slow' });
      assert.equal(r.json.status, 'queued', r.text);
    }
    await page.click('#buy');
    const seen = [];
    const deadline = Date.now() + 20000;
    for (;;) {
      const shown = await page.evaluate(() => ({
        phase: document.getElementById('phase').textContent,
        label: document.getElementById('countdown-label').textContent,
        result: document.getElementById('result').textContent,
        ahead: document.getElementById('ahead').textContent,
        text: document.body.innerText,
      }));
      if (/Success!/.test(shown.result)) break;
      assert.doesNotMatch(shown.text, /sold out/i, `a queued buyer was shown: ${JSON.stringify(shown)}`);
      seen.push(shown);
      assert.ok(Date.now() < deadline, `no result: ${JSON.stringify(shown)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The page was looked at while the sale was sold out and this buyer still queued.
    assert.ok(seen.some((s) => s.phase === 'in queue'), JSON.stringify(seen.at(-1)));
    assert.ok(seen.some((s) => /Queued at position 4: [1-3] orders? ahead of you/.test(s.result)),
      JSON.stringify(seen.map((s) => s.result)));
    assert.deepEqual(realErrors(page), []);

    const late = await newPage(browser);
    await late.goto(daemon.url('/seckill.html?saleId=slow&userId=slow-late'));
    await late.waitForFunction(() => document.getElementById('phase').textContent === 'sold out');
    assert.equal(await late.isDisabled('#buy'), true);
    assert.match(await late.textContent('#buy-note'), /no new orders/);
    assert.deepEqual(realErrors(late), []);
  });

test('an unknown sale id says the sale does not exist', { timeout: 30000 }, async () => {
  const page = await newPage(browser);
  await page.goto(daemon.url('/seckill.html?saleId=no-such-sale&userId=u1'));
  await page.waitForFunction(() => document.getElementById('phase').textContent === 'not found');
  assert.match(await page.textContent('main'), /"no-such-sale".*does not exist/);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.notEqual(await page.textContent('#conn'), 'live');
  assert.equal(await page.isDisabled('#buy'), true);
  assert.equal(await page.textContent('#phase'), 'not found');
  assert.deepEqual(realErrors(page), []);
});

test('a failed result poll is retried with backoff until the result arrives',
  { timeout: 90000 }, async () => {
    const page = await newPage(browser);
    // No stream at all: the result can only come from polling.
    await page.route('**/sse-updates**', (route) => route.abort());
    let outage = false;
    const failed = [];
    await page.route('**/api/sales/outage/result**', (route) => {
      if (outage && failed.length < 2) {
        failed.push(Date.now());
        return route.abort();
      }
      return route.continue();
    });
    await page.goto(daemon.url('/seckill.html?saleId=outage&userId=outage-buyer'));
    await page.waitForFunction(() => !document.getElementById('buy').disabled, null,
      { timeout: 15000 });
    outage = true;
    await page.click('#buy');
    await page.waitForFunction(() => /Success!/.test(document.getElementById('result').textContent),
      null, { timeout: 60000 }).catch((e) => {
      throw new Error(`failed polls ${failed.length}, errors ${page.errors}: ${e.message}`);
    });
    assert.equal(failed.length, 2);
    // Backoff: the second retry waited longer than the normal poll interval.
    assert.ok(failed[1] - failed[0] >= 5000, `retry after ${failed[1] - failed[0]} ms`);
    assert.deepEqual(realErrors(page), []);
  });
