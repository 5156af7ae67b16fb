// Headless Chromium opens web/auction.html twice: one page bids through its form, the other
// sees the price, leader and history change live; a bid from outside reaches both pages.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon } from './lib/daemon.mjs';
import { launchBrowser, newPage } from './lib/browser.mjs';

const AUCTION = { id: 'lamp', name: 'Vintage lamp', start_price: 100, min_increment: 10,
  reserve_price: 0, start_at: '2020-01-01T00:00:00Z', end_at: '+1h', extend_window_ms: 0,
  extend_by_ms: 0 };
let daemon;
let browser;

before(async () => {
  daemon = await startDaemon({ overrides: { sales: [], auctions: [AUCTION], default_topics: [] } });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (daemon) await daemon.cleanup();
});

const text = (page, sel) => page.textContent(sel);
const waitText = (page, sel, want) => page.waitForFunction(([s, w]) =>
  document.querySelector(s).textContent.trim() === w, [sel, want], { timeout: 10000 });

test('a bid on one page shows on the other', { timeout: 90000 }, async () => {
  const bidder = await newPage(browser);
  const watcher = await newPage(browser);
  await bidder.goto(daemon.url('/auction.html?id=lamp&userId=alice'));
  await watcher.goto(daemon.url('/auction.html?id=lamp&userId=walt'));
  for (const p of [bidder, watcher]) {
    await waitText(p, '#conn', 'live');
    await waitText(p, '#item-name', 'Vintage lamp');
    await waitText(p, '#price', '100');
    await waitText(p, '#phase', 'open');
    assert.match(await text(p, '#countdown'), /^\d+:\d\d:\d\d$|^\d+:\d\d$/);
  }

  // The form is prefilled with the lowest acceptable bid; bid above it.
  assert.equal(await bidder.inputValue('#amount'), '100');
  await bidder.fill('#amount', '150');
  await bidder.click('#bid-button');
  await waitText(bidder, '#message', 'Bid of 150 accepted');
  await waitText(watcher, '#price', '150');
  await waitText(watcher, '#leader', 'alice');
  await waitText(watcher, '#bid-count', '1');
  await watcher.waitForFunction(() => document.querySelectorAll('#history li').length === 1,
    null, { timeout: 10000 });
  assert.match(await text(watcher, '#history li'), /alice.*150/);

  // A bid that is too low is refused on the bidder's page and changes nothing on the other.
  await bidder.fill('#amount', '155');
  await bidder.click('#bid-button');
  await bidder.waitForFunction(() => document.getElementById('message').textContent.startsWith('Too low'),
    null, { timeout: 10000 });
  assert.equal((await text(watcher, '#price')).trim(), '150');

  // A bid from outside the browsers reaches both pages.
  const r = await daemon.request('POST', '/api/bid', { userId: 'zed', auctionId: 'lamp', bidAmount: 1200 });
  assert.equal(r.status, 200, r.text);
  for (const p of [bidder, watcher]) {
    await waitText(p, '#price', '1,200');
    await waitText(p, '#leader', 'zed');
  }
  assert.equal(await watcher.inputValue('#amount'), '1210');
  assert.deepEqual(bidder.errors, []);
  assert.deepEqual(watcher.errors, []);
});
