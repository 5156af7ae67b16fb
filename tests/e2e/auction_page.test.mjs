// Headless Chromium opens web/auction.html twice: one page bids through its form, the other
// sees the price, leader and history change live; a bid from outside reaches both pages.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon } from './lib/daemon.mjs';
import { launchBrowser, newPage } from './lib/browser.mjs';

const AUCTION = { id: 'lamp', name: 'Vintage lamp', start_price: 100, min_increment: 10,
  reserve_price: 0, start_at: '2020-01-01T00:00:00Z', end_at: '+1h', extend_window_ms: 0,
  extend_by_ms: 0 };
// Every bid falls inside the extension window, so each one moves the end 15 minutes out.
const SOFT_CLOSE = { id: 'clock', name: 'Mantel clock', start_price: 100, min_increment: 10,
  reserve_price: 0, start_at: '2020-01-01T00:00:00Z', end_at: '+5m', extend_window_ms: 600000,
  extend_by_ms: 900000 };
let daemon;
let browser;

before(async () => {
  daemon = await startDaemon({ overrides: { sales: [], auctions: [AUCTION, SOFT_CLOSE],
    default_topics: [] } });
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
  await bidder.waitForFunction(() => document.getElementById('error').textContent.startsWith('Too low'),
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

test('outbid notice, messages that go away, and a soft-close extension announced',
  { timeout: 90000 }, async () => {
    const alice = await newPage(browser);
    const bob = await newPage(browser);
    await alice.goto(daemon.url('/auction.html?id=clock&userId=alice-c'));
    await bob.goto(daemon.url('/auction.html?id=clock&userId=bob-c'));
    for (const p of [alice, bob]) {
      await waitText(p, '#conn', 'live');
      await waitText(p, '#phase', 'open');
      assert.equal(await text(p, '#extended'), '');
    }

    await alice.fill('#amount', '100');
    await alice.click('#bid-button');
    await waitText(alice, '#message', 'Bid of 100 accepted');
    await waitText(alice, '#notice', 'You are the highest bidder.');
    // The bid came within the window: both pages say the end moved, with the new time.
    for (const p of [alice, bob]) {
      await p.waitForFunction(() => /^Extended by \d+ s: a late bid moved the end to /.test(
        document.getElementById('extended').textContent), null, { timeout: 10000 });
    }
    assert.equal(await text(bob, '#notice'), '', 'bob never led: nothing to tell him');
    // The confirmation goes away by itself.
    await waitText(alice, '#message', '');

    await bob.fill('#amount', '200');
    await bob.click('#bid-button');
    await alice.waitForFunction(() => /^You have been outbid: bob-c leads with 200\. Bid at least 210/.test(
      document.getElementById('notice').textContent), null, { timeout: 10000 });
    await waitText(bob, '#notice', 'You are the highest bidder.');

    // The server's rate limiter says "slow down" (as it does on alice's user:U topic when she
    // bids too often): shown, and gone once the wait is over.
    const r = await daemon.publish('user:alice-c', { retryAfterMs: 1500, scope: 'user' }, 'ratelimit');
    assert.equal(r.status, 200, r.text);
    await waitText(alice, '#error', 'Slow down: try again in 2 s');
    await alice.waitForFunction(() => document.getElementById('error').textContent === '',
      null, { timeout: 10000 });
    assert.deepEqual(alice.errors, []);
    assert.deepEqual(bob.errors, []);
  });
