// The shop pages as a shop ships them (issue 15), in headless Chromium through the real daemon:
// products from the config, identity from the token with auth on, one stylesheet and one time
// format, no internals on the shopper pages, accessibility (axe-core, landmarks, live regions),
// a phone-sized viewport without horizontal scrolling, no console errors, the dashboard's
// "since start" counters and latency panel, and the README screenshots.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, SOURCE_DIR, WEB_DIR, jsonRequest, makeTempDir, startDaemon } from './lib/daemon.mjs';
import { launchBrowser, newPage } from './lib/browser.mjs';
import { axeViolations } from './lib/axe.mjs';
import { openSse } from './lib/sse.mjs';

// Amounts in the currency's smallest unit, as everywhere: 4999 is 49.99 EUR.
const PRODUCT = { description: 'Wireless headphones, 30 h battery.', image: 'img/demo-headphones.svg',
  price: 4999, currency: 'EUR' };
const SALE = { id: 'shoes', name: 'Headphones drop', stock: 50, start_at: '2020-01-01T00:00:00Z',
  end_at: '+2h', per_user_limit: 1, process_rate_per_s: 0, ...PRODUCT };
const BARE_SALE = { id: 'bare', name: 'Bare sale', stock: 5, start_at: '2020-01-01T00:00:00Z',
  end_at: '+2h', per_user_limit: 1, process_rate_per_s: 0 };
const AUCTION = { id: 'watch', name: 'Vintage watch', start_price: 100, min_increment: 10,
  reserve_price: 0, start_at: '2020-01-01T00:00:00Z', end_at: '+2h', extend_window_ms: 0,
  extend_by_ms: 0, description: 'A 1960s automatic watch.', image: 'img/demo-watch.svg',
  currency: 'EUR' };
const JWT_SECRET = 'e2e-pages-secret-0123456789abcdef';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1100, height: 1000 };
const eur = (n) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR' }).format(n);

let daemon;      // auth off
let jwtDaemon;   // auth.mode jwt
let browser;

before(async () => {
  const overrides = { sales: [SALE, BARE_SALE], auctions: [AUCTION], default_topics: [] };
  daemon = await startDaemon({ overrides });
  jwtDaemon = await startDaemon({ overrides: { ...overrides,
    auth: { mode: 'jwt', jwt_secret: JWT_SECRET } } });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (daemon) await daemon.cleanup();
  if (jwtDaemon) await jwtDaemon.cleanup();
});

function jwt(sub, secret = JWT_SECRET) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${body}.${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;
}

const waitText = (page, sel, want, timeout = 10000) => page.waitForFunction(([s, w]) => {
  const el = document.querySelector(s);
  return el && (w instanceof RegExp ? w.test(el.textContent) : el.textContent.trim() === w);
}, [sel, want], { timeout });

// Each page, opened and brought to its normal live state.
const PAGES = {
  index: { path: '/index.html', ready: async (p) => p.waitForSelector('main h1') },
  seckill: { path: '/seckill.html?saleId=shoes&userId=ann',
    ready: async (p) => { await waitText(p, '#phase', 'open'); await waitText(p, '#conn', 'live'); } },
  auction: { path: '/auction.html?id=watch&userId=ann',
    ready: async (p) => { await waitText(p, '#conn', 'live'); await waitText(p, '#phase', 'open'); } },
  dashboard: { path: '/dashboard.html',
    ready: async (p) => p.waitForFunction(() => Number(document.body.dataset.updates) >= 2, null,
      { timeout: 10000 }) },
};

async function open(name, viewport, d = daemon, pagePath = PAGES[name].path) {
  const page = await newPage(browser, { viewport });
  await page.goto(d.url(pagePath));
  await PAGES[name].ready(page);
  return page;
}

test('every page passes axe-core, has header/main/footer, fits 390x844 and logs no error',
  { timeout: 120000 }, async () => {
    for (const name of Object.keys(PAGES)) {
      const page = await open(name, PHONE);
      assert.deepEqual(await axeViolations(page), [], `${name}: axe violations`);
      const frame = await page.evaluate(() => ({
        header: !!document.querySelector('body > header'),
        main: document.querySelectorAll('main').length,
        footer: !!document.querySelector('body > footer'),
        scroll: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      }));
      assert.deepEqual(frame, { header: true, main: 1, footer: true, scroll: 0 }, name);
      assert.deepEqual(page.errors, [], `${name}: console errors`);
      await page.context().close();
    }
    // The messages a bidder sees (accepted, leading, outbid, too low) pass too.
    const ann = await open('auction', PHONE);
    const bob = await newPage(browser, { viewport: PHONE });
    await bob.goto(daemon.url('/auction.html?id=watch&userId=bob'));
    await waitText(bob, '#conn', 'live');
    await ann.fill('#amount', '500');
    await ann.click('#bid-button');
    await waitText(ann, '#notice', 'You are the highest bidder.');
    await bob.fill('#amount', '600');
    await bob.click('#bid-button');
    await waitText(ann, '#notice', /^You have been outbid/);
    await ann.fill('#amount', '600');
    await ann.click('#bid-button');
    await waitText(ann, '#error', /^Too low/);
    for (const p of [ann, bob]) {
      assert.deepEqual(await axeViolations(p), [], 'auction with messages: axe violations');
      assert.equal(await p.evaluate(() => document.documentElement.scrollWidth -
        document.documentElement.clientWidth), 0);
      assert.deepEqual(p.errors, []);
    }
    // And the seckill page with a result shown.
    const buyer = await open('seckill', PHONE, daemon, '/seckill.html?saleId=shoes&userId=axe-buyer');
    await buyer.click('#buy');
    await waitText(buyer, '#result', /^Success! Order shoes-\d+/);
    assert.deepEqual(await axeViolations(buyer), [], 'seckill with a result: axe violations');
    assert.deepEqual(buyer.errors, []);
  });

test('queue position, results, price and errors are live regions', { timeout: 60000 }, async () => {
  const seckill = await open('seckill', DESKTOP);
  const live = (page, sel) => page.$eval(sel, (el) => el.getAttribute('aria-live') ||
    ({ status: 'polite', alert: 'assertive' })[el.getAttribute('role')] || null);
  assert.equal(await live(seckill, '#mine'), 'polite');
  assert.equal(await seckill.$eval('#mine', (el) => el.contains(document.getElementById('position'))), true);
  assert.equal(await live(seckill, '#result'), 'polite');
  assert.equal(await live(seckill, '#error'), 'assertive');
  const auction = await open('auction', DESKTOP);
  assert.equal(await live(auction, '#price'), 'polite');
  assert.equal(await live(auction, '#message'), 'polite');
  assert.equal(await live(auction, '#error'), 'assertive');
  assert.equal(await live(auction, '#result'), 'polite');
  assert.deepEqual([...seckill.errors, ...auction.errors], []);
});

test('product fields: the info endpoints return them and the pages show them formatted',
  { timeout: 60000 }, async () => {
    const sale = await jsonRequest(daemon.url('/api/sales/shoes'));
    assert.equal(sale.status, 200);
    for (const k of Object.keys(PRODUCT)) assert.deepEqual(sale.json[k], PRODUCT[k], k);
    assert.equal(sale.json.auth, 'off');
    const bare = await jsonRequest(daemon.url('/api/sales/bare'));
    for (const k of Object.keys(PRODUCT)) assert.equal(k in bare.json, false, `bare sale has ${k}`);
    const auction = await jsonRequest(daemon.url('/api/auctions/watch'));
    assert.equal(auction.json.description, AUCTION.description);
    assert.equal(auction.json.image, AUCTION.image);
    assert.equal(auction.json.currency, 'EUR');
    const list = await jsonRequest(daemon.url('/api/sales'));
    assert.equal(list.json.sales.find((s) => s.id === 'shoes').price, 4999);

    const page = await open('seckill', DESKTOP);
    assert.equal((await page.textContent('#product .description')).trim(), PRODUCT.description);
    assert.equal((await page.textContent('#product .list-price')).trim(), eur(49.99));
    assert.equal(await page.textContent('#buy'), `Buy now for ${eur(49.99)}`);
    await page.waitForFunction(() => document.querySelector('#product img').naturalWidth > 0);
    assert.equal(await page.getAttribute('#product img', 'alt'), SALE.name);

    const bidPage = await open('auction', DESKTOP);
    assert.equal((await bidPage.textContent('#product .description')).trim(), AUCTION.description);
    await bidPage.waitForFunction(() => document.querySelector('#product img').naturalWidth > 0);
    await waitText(bidPage, '#price', /^€[\d,]+\.00$/);

    // A sale without product fields shows no empty card parts and plain numbers.
    const plain = await newPage(browser, { viewport: DESKTOP });
    await plain.goto(daemon.url('/seckill.html?saleId=bare&userId=ann'));
    await waitText(plain, '#phase', 'open');
    assert.equal(await plain.isVisible('#product img'), false);
    assert.equal(await plain.textContent('#buy'), 'Buy now');
    assert.deepEqual([...page.errors, ...bidPage.errors, ...plain.errors], []);
  });

test('a bad product in the config exits 2 naming the key', { timeout: 30000 }, () => {
  const dir = makeTempDir();
  const check = (item, list = 'sales') => {
    const base = list === 'sales' ? BARE_SALE : { ...AUCTION, description: undefined,
      image: undefined, currency: undefined };
    const cfg = { static_dir: WEB_DIR, sales: [], auctions: [] };
    cfg[list] = [JSON.parse(JSON.stringify({ ...base, ...item }))];
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify(cfg));
    const r = spawnSync(BIN, ['--check-config', '--config', file], { encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr };
  };
  assert.equal(check(PRODUCT).status, 0, check(PRODUCT).out);
  assert.equal(check({ image: 'https://cdn.example.com/a.png' }).status, 0);
  for (const [item, key, list] of [
    [{ currency: 'EURO' }, 'sales[0].currency'],
    [{ currency: 'ABC' }, 'sales[0].currency'],
    [{ price: 10 }, 'sales[0].currency'],
    [{ price: -1, currency: 'EUR' }, 'sales[0].price'],
    [{ price: '10', currency: 'EUR' }, 'sales[0].price'],
    [{ price: 49.99, currency: 'EUR' }, 'sales[0].price'],
    [{ image: '../secret.png' }, 'sales[0].image'],
    [{ image: '/etc/passwd' }, 'sales[0].image'],
    [{ image: 'javascript:alert(1)' }, 'sales[0].image'],
    [{ image: 'img/no-such-file.svg' }, 'auctions[0].image', 'auctions'],
    [{ description: 7 }, 'sales[0].description'],
    [{ description: 'x'.repeat(2001) }, 'sales[0].description'],
  ]) {
    const r = check(item, list);
    assert.equal(r.status, 2, `${JSON.stringify(item)}: ${r.out}`);
    assert.match(r.out, new RegExp(key.replace(/[[\].]/g, '\\$&')), JSON.stringify(item));
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('with auth.mode jwt the pages take the user from the token and show no user box',
  { timeout: 90000 }, async () => {
    // The shop's login set the cookie rushcast_token (HttpOnly: the page never reads it).
    const page = await newPage(browser, { viewport: DESKTOP });
    await page.context().addCookies([{ name: 'rushcast_token', value: jwt('alice-jwt'),
      url: jwtDaemon.url('/'), httpOnly: true }]);
    await page.goto(jwtDaemon.url('/seckill.html?saleId=shoes'));
    await waitText(page, '#identity', 'Signed in as alice-jwt');
    assert.equal(await page.$('#user-id'), null, 'no free-text user box');
    await waitText(page, '#phase', 'open');
    await page.waitForFunction(() => !document.getElementById('buy').disabled);
    await page.click('#buy');
    await waitText(page, '#result', /^Success! Order shoes-\d+/);
    const r = await jsonRequest(jwtDaemon.url('/api/sales/shoes/result'), 'GET', undefined,
      { Authorization: `Bearer ${jwt('alice-jwt')}` });
    assert.equal(r.json.status, 'success', r.text);

    // The login hook: the shop's login redirects to the page with #token=JWT.
    const bidder = await newPage(browser, { viewport: DESKTOP });
    await bidder.goto(jwtDaemon.url(`/auction.html?id=watch#token=${jwt('bob-jwt')}`));
    await waitText(bidder, '#identity', 'Signed in as bob-jwt');
    assert.equal(await bidder.$('#user'), null, 'no free-text user box');
    assert.doesNotMatch(bidder.url(), /token=/, 'the token left the address bar');
    await waitText(bidder, '#conn', 'live');
    await bidder.fill('#amount', '5000');
    await bidder.click('#bid-button');
    await waitText(bidder, '#message', `Bid of ${eur(5000)} accepted`);
    await waitText(bidder, '#leader', 'bob-jwt');
    await waitText(bidder, '#notice', 'You are the highest bidder.');

    // Without a token: no box either, and nothing to buy until signed in.
    const anon = await newPage(browser, { viewport: DESKTOP });
    await anon.goto(jwtDaemon.url('/seckill.html?saleId=shoes'));
    await waitText(anon, '#identity', /not signed in/);
    await waitText(anon, '#phase', 'open');
    assert.equal(await anon.$('#user-id'), null);
    assert.equal(await anon.isDisabled('#buy'), true);
    assert.match(await anon.textContent('#buy-note'), /Sign in to buy/);
    assert.deepEqual([...page.errors, ...bidder.errors, ...anon.errors], []);
  });

test('with auth off the user box is there and labelled as a demo', { timeout: 60000 }, async () => {
  const seckill = await open('seckill', DESKTOP);
  assert.match(await seckill.textContent('#user-box'), /demo/i);
  assert.equal(await seckill.inputValue('#user-id'), 'ann');
  assert.equal(await seckill.isVisible('#identity'), false);
  const auction = await open('auction', DESKTOP);
  assert.match(await auction.textContent('#user-box'), /demo/i);
  assert.equal(await auction.inputValue('#user'), 'ann');
  assert.deepEqual([...seckill.errors, ...auction.errors], []);
});

test('shopper pages show no internals', { timeout: 60000 }, async () => {
  const internals = /clock offset|sse-updates|\/api\/|\/ws\b|orders worked off|\bms\b|endpoint/i;
  for (const name of ['index', 'seckill', 'auction']) {
    const page = await open(name, DESKTOP);
    const text = await page.evaluate(() => document.body.innerText);
    assert.doesNotMatch(text, internals, `${name}: ${text}`);
    assert.deepEqual(page.errors, []);
  }
});

test('one stylesheet and one time format on every page', { timeout: 60000 }, async () => {
  const looks = [];
  for (const name of Object.keys(PAGES)) {
    const page = await open(name, DESKTOP);
    const look = await page.evaluate(() => {
      const body = getComputedStyle(document.body);
      return {
        sheets: [...document.querySelectorAll('link[rel=stylesheet]')].map((l) => l.getAttribute('href')),
        background: body.backgroundColor, color: body.color, font: body.fontFamily,
      };
    });
    assert.deepEqual(look.sheets, ['css/site.css'], name);
    looks.push(look);
    if (name !== 'index') {
      // Durations: "00:34", "1:02:03" (hours not padded), from the one shared formatter.
      const f = await page.evaluate(() => [34000, 3723000, 93784000].map(window.rushcast.formatCountdown));
      assert.deepEqual(f, ['00:34', '1:02:03', '1d 02:03:04'], name);
    }
    if (name === 'seckill' || name === 'auction') {
      // Both end in a little under two hours: the countdown reads 1:59:5x on both.
      assert.match((await page.textContent('#countdown')).trim(), /^1:5\d:\d\d$/, name);
    }
    assert.deepEqual(page.errors, []);
  }
  for (const l of looks.slice(1)) assert.deepEqual({ ...l, sheets: [] }, { ...looks[0], sheets: [] });
  for (const name of ['index', 'seckill', 'auction']) {
    const html = fs.readFileSync(path.join(WEB_DIR, `${name}.html`), 'utf8');
    assert.doesNotMatch(html, /<style/, `${name}.html has its own styles`);
  }
});

test('auction.html takes clock sync and the socket from js/common.js', { timeout: 30000 },
  async () => {
    const html = fs.readFileSync(path.join(WEB_DIR, 'auction.html'), 'utf8');
    assert.match(html, /<script src="js\/common.js"><\/script>/);
    assert.doesNotMatch(html, /new WebSocket\(/, 'a WebSocket of its own');
    assert.doesNotMatch(html, /fetch\(['"]\/?time/, 'a clock sync of its own');
    const page = await open('auction', DESKTOP);
    assert.equal(await page.evaluate(() => window.rushcast.clock.synced), true);
    assert.deepEqual(page.errors, []);
  });

test('the dashboard says its counters run since start and shows publish-to-write latency',
  { timeout: 60000 }, async () => {
    const page = await open('dashboard', DESKTOP);
    assert.match(await page.textContent('#since'), /since the daemon started/);
    assert.match(await page.textContent('#events'), /since start/);
    const sub = await openSse(daemon.url('/sse-updates?topics=news:lat'));
    for (let i = 0; i < 20; i++) assert.equal((await daemon.publish('news:lat', { i }, 'news')).status, 200);
    await sub.next('news', 5000, (e) => e.json.i === 19);
    sub.close();
    await page.waitForFunction(() => Number(document.getElementById('latency-count').textContent
      .replace(/\D/g, '')) >= 20, null, { timeout: 10000 });
    assert.match(await page.textContent('#latency-p50'), /^≤ [\d.,]+ (ms|s)$/);
    assert.match(await page.textContent('#latency-p99'), /^(≤ [\d.,]+ (ms|s)|> 5 s)$/);
    assert.ok(await page.$$eval('#latency-bars div', (d) => d.length) >= 10);
    assert.deepEqual(page.errors, []);
  });

// README screenshots: always taken into the build tree (proof that they can be); written to
// docs/img/ only with UPDATE_SCREENSHOTS=1, so a normal test run leaves the source tree clean.
test('screenshots of the three pages', { timeout: 90000 }, async () => {
  const outDir = process.env.RUSHCAST_SCREENSHOT_DIR || path.join(path.dirname(BIN), 'screenshots');
  fs.mkdirSync(outDir, { recursive: true });
  const targets = [outDir];
  if (process.env.UPDATE_SCREENSHOTS === '1') targets.push(path.join(SOURCE_DIR, 'docs', 'img'));
  // Some life on the pages first: bids and a purchase.
  for (const [userId, bidAmount] of [['carol', 70000], ['dave', 75000]]) {
    await daemon.request('POST', '/api/bid', { userId, auctionId: 'watch', bidAmount });
  }
  for (const name of ['seckill', 'auction', 'dashboard']) {
    const page = await open(name, { width: 900, height: 900 }, daemon,
      name === 'seckill' ? '/seckill.html?saleId=shoes&userId=shot-buyer' : PAGES[name].path);
    if (name === 'seckill') {
      await page.click('#buy');
      await waitText(page, '#result', /^Success!/);
    }
    if (name === 'auction') await page.waitForFunction(() => document.querySelectorAll('#history li').length >= 2);
    if (name === 'dashboard') await page.waitForFunction(() => Number(document.body.dataset.updates) >= 4);
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    for (const dir of targets) {
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      const png = fs.readFileSync(file);
      assert.equal(png.subarray(1, 4).toString(), 'PNG');
      assert.ok(png.length > 5000, `${file}: ${png.length} bytes`);
    }
    assert.deepEqual(page.errors, []);
  }
});
