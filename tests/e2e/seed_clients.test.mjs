// The owner's two original pages, unchanged, against the real daemon (CONTRACT section 2,
// ../shared/SEED-CLIENTS.md): clients of our own that do on the wire exactly what those pages
// do, with one sale and one auction configured and no `default_topics` key. The flash-sale page:
// a bare EventSource (plus `?userId=`, the one change the owner accepts) listening for `stock`,
// `countdown` {endTime} and `result`, buying with a JSON POST without saleId. The auction page:
// a bare WebSocket on `/` reading `init`, sending {type:'bid', userId, bidAmount}, reading
// `price_update` and `error` {message}, reconnecting 1 s after a close.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import EventSource from 'eventsource';
import WebSocket from 'ws';
import { startDaemon } from './lib/daemon.mjs';

const SALE = {
  id: 'flash', name: 'Flash', stock: 3, start_at: '+0s', end_at: '+1h', per_user_limit: 1,
  process_rate_per_s: 4,
};
const AUCTION = {
  id: 'watch', name: 'Old watch', start_price: 1000, min_increment: 100, reserve_price: 0,
  start_at: '+0s', end_at: '+2h', extend_window_ms: 0, extend_by_ms: 0,
};

let daemon;
const pages = [];

before(async () => {
  // default_topics: null removes the key from the demo config: the seed's defaults apply.
  daemon = await startDaemon({ overrides: { sales: [SALE], auctions: [AUCTION],
    default_topics: null, countdown_sync_ms: 300 } });
});

after(async () => {
  for (const p of pages) p.close();
  if (daemon) await daemon.cleanup();
});

const randomUser = () => 'user_' + Math.random().toString(36).slice(2, 10).padEnd(8, '0');

// Resolves once check() holds, polling; rejects with what() after timeoutMs.
async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// What the flash-sale page keeps on screen, and what it did to get there.
class SeedSalePage {
  constructor(origin, userId) {
    this.origin = origin;
    this.userId = userId;
    this.shown = { stock: null, countdown: null, position: null, result: null };
    this.countdownEnds = [];  // endTime of every countdown event: one timer each on the page
    this.timers = [];
    this.es = new EventSource(`${origin}/sse-updates?userId=${encodeURIComponent(userId)}`);
    this.es.addEventListener('stock', (e) => { this.shown.stock = JSON.parse(e.data).stock; });
    this.es.addEventListener('countdown', (e) => {
      const { endTime } = JSON.parse(e.data);
      this.countdownEnds.push(endTime);
      const tick = () => {
        this.shown.countdown = Math.max(0, Math.floor((endTime - Date.now()) / 1000));
      };
      tick();
      this.timers.push(setInterval(tick, 1000));
    });
    this.es.addEventListener('result', (e) => { this.shown.result = JSON.parse(e.data).result; });
    pages.push(this);
  }

  async buy() {
    const res = await fetch(`${this.origin}/api/seckill`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ userId: this.userId }),
    });
    const data = await res.json();
    if (data.status === 'queued') this.shown.position = data.position;
    return { status: res.status, data };
  }

  close() {
    this.es.close();
    this.timers.forEach(clearInterval);
  }
}

// What the auction page keeps on screen; alert() becomes a list of alerts.
class SeedAuctionPage {
  constructor(wsUrl) {
    this.wsUrl = wsUrl;
    this.userId = randomUser();
    this.shown = { name: null, price: null, leader: null, secondsLeft: null };
    this.history = [];
    this.alerts = [];
    this.inits = 0;
    this.closed = false;
    this.timer = null;
    this.connect();
    pages.push(this);
  }

  connect() {
    this.ws = new WebSocket(this.wsUrl);
    this.ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString());
      if (msg.type === 'init') {
        this.inits++;
        this.shown.name = msg.item.name;
        this.shown.price = msg.item.currentPrice;
        const end = msg.countdown;
        clearInterval(this.timer);
        const tick = () => { this.shown.secondsLeft = Math.max(0, Math.floor((end - Date.now()) / 1000)); };
        tick();
        this.timer = setInterval(tick, 1000);
      } else if (msg.type === 'price_update') {
        this.shown.price = msg.currentPrice;
        this.shown.leader = msg.leadingUser;
        this.history.unshift(`${msg.leadingUser}: ${msg.currentPrice}`);
      } else if (msg.type === 'error') {
        this.alerts.push(msg.message);
      }
    });
    this.ws.on('error', () => {});
    this.ws.on('close', () => {
      if (!this.closed) setTimeout(() => this.connect(), 1000);
    });
  }

  bid(text) {
    const bidAmount = Number.parseInt(text, 10);
    this.ws.send(JSON.stringify({ type: 'bid', userId: this.userId, bidAmount }));
  }

  close() {
    this.closed = true;
    clearInterval(this.timer);
    this.ws.terminate();
  }
}

test('flash-sale page: stock and one countdown, buy, queued, then its result',
  { timeout: 30000 }, async () => {
    const sale = (await daemon.request('GET', '/api/sales/flash')).json;
    const page = new SeedSalePage(daemon.origin, randomUser());
    await until(() => page.shown.stock !== null && page.shown.countdown !== null, 5000,
      () => JSON.stringify(page.shown));
    assert.equal(page.shown.stock, 3);
    assert.ok(page.shown.countdown > 3500 && page.shown.countdown <= 3600,
      `seconds left of the sale: ${page.shown.countdown}`);

    const { status, data } = await page.buy();
    assert.equal(status, 200, JSON.stringify(data));
    assert.equal(data.status, 'queued');
    assert.equal(page.shown.position, 1);
    await until(() => page.shown.result !== null, 10000, () => JSON.stringify(page.shown));
    assert.equal(page.shown.result, 'success');
    await until(() => page.shown.stock === 2, 5000, () => JSON.stringify(page.shown));

    // Several countdown syncs later, every countdown this stream carried was the sale's: the
    // auction's (which ends an hour later) would make the page's timers flicker.
    await until(() => page.countdownEnds.length >= 3, 5000, () => page.countdownEnds.join());
    assert.deepEqual([...new Set(page.countdownEnds)], [sale.endTime]);
  });

test('flash-sale page: answers other than queued change nothing on the page',
  { timeout: 20000 }, async () => {
    const page = new SeedSalePage(daemon.origin, randomUser());
    const first = await page.buy();
    assert.equal(first.data.status, 'queued', JSON.stringify(first.data));
    const shownBefore = { ...page.shown };
    const again = await page.buy();
    assert.equal(again.status, 409, JSON.stringify(again.data));
    assert.equal(page.shown.position, shownBefore.position);
  });

test('flash-sale page from another origin: the JSON POST passes the CORS preflight',
  { timeout: 10000 }, async () => {
    const res = await fetch(`${daemon.origin}/api/seckill`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://shop.example', 'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type' },
    });
    assert.ok(res.status >= 200 && res.status < 300, `preflight status ${res.status}`);
    assert.ok(res.headers.get('access-control-allow-origin'), 'allow-origin present');
    assert.match(res.headers.get('access-control-allow-headers') || '', /content-type/i);
  });

test('auction page: init, a bid reaches every page, a too-low bid is an error with a message',
  { timeout: 30000 }, async () => {
    const alice = new SeedAuctionPage(daemon.wsUrl('/'));
    const bob = new SeedAuctionPage(daemon.wsUrl('/'));
    for (const p of [alice, bob]) {
      await until(() => p.inits === 1, 5000, () => JSON.stringify(p.shown));
      assert.equal(p.shown.name, 'Old watch');
      assert.equal(p.shown.price, 1000);
      assert.ok(p.shown.secondsLeft > 7100 && p.shown.secondsLeft <= 7200,
        `seconds left of the auction: ${p.shown.secondsLeft}`);
    }

    alice.bid('1000');
    for (const p of [alice, bob]) {
      await until(() => p.shown.price === 1000 && p.shown.leader === alice.userId, 5000,
        () => JSON.stringify(p.shown));
    }
    bob.bid('1050');  // below 1000 + 100
    await until(() => bob.alerts.length === 1, 5000, () => JSON.stringify(bob.alerts));
    assert.equal(typeof bob.alerts[0], 'string');
    assert.ok(bob.alerts[0].length > 0);
    bob.bid('1100');
    for (const p of [alice, bob]) {
      await until(() => p.shown.price === 1100 && p.shown.leader === bob.userId, 5000,
        () => JSON.stringify(p.shown));
      assert.deepEqual(p.history, [`${bob.userId}: 1100`, `${alice.userId}: 1000`]);
    }
    assert.deepEqual(alice.alerts, []);
    assert.equal(bob.alerts.length, 1);
  });

test('auction page: after the server drops it, it reconnects and gets init again',
  { timeout: 20000 }, async () => {
    const page = new SeedAuctionPage(daemon.wsUrl('/'));
    await until(() => page.inits === 1, 5000, () => JSON.stringify(page.shown));
    page.ws.terminate();  // as a network cut would; the page's close handler reconnects
    await until(() => page.inits === 2, 5000, () => `init count ${page.inits}`);
    assert.equal(page.shown.name, 'Old watch');
  });
