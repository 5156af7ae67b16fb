// Headless Chromium loads web/dashboard.html through nginx and watches the live figures follow
// what the test does: more connections, published events, a sale's stock going down.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PUBLISH_KEY, jsonRequest, startDaemon } from './lib/daemon.mjs';
import { startNginx } from './lib/nginx.mjs';
import { launchBrowser, newPage } from './lib/browser.mjs';
import { openSse } from './lib/sse.mjs';
import { openWs } from './lib/ws.mjs';

const SALE = { id: 'dash', name: 'dashboard sale', stock: 5, start_at: '2020-01-01T00:00:00Z',
  end_at: '+1h', per_user_limit: 1, process_rate_per_s: 0 };
let daemon;
let nginx;
let browser;
const clients = [];

before(async () => {
  daemon = await startDaemon({ overrides: { sales: [SALE], auctions: [], default_topics: [] } });
  nginx = await startNginx({ upstreamPorts: [daemon.port] });
  browser = await launchBrowser();
});

after(async () => {
  for (const c of clients) (c.terminate || c.close).call(c);
  if (browser) await browser.close();
  if (nginx) await nginx.cleanup();
  if (daemon) await daemon.cleanup();
});

const num = async (page, sel) => Number((await page.textContent(sel)).replace(/[^\d.-]/g, ''));

test('the dashboard shows live connections, events and stock', { timeout: 60000 }, async () => {
  const page = await newPage(browser);
  await page.goto(nginx.url('/dashboard.html'));
  await page.waitForFunction(() => Number(document.body.dataset.updates) >= 1, null,
    { timeout: 5000 });
  assert.equal(await page.textContent('#status'), 'live');
  // The dashboard's own stream counts.
  const sse0 = await num(page, '#conn-sse');
  assert.ok(sse0 >= 1, `conn-sse ${sse0}`);

  // Three more SSE clients and two WebSockets show up within a couple of updates.
  for (let i = 0; i < 3; i++) clients.push(await openSse(daemon.url('/sse-updates?topics=news:dash')));
  for (let i = 0; i < 2; i++) clients.push(await openWs(daemon.wsUrl('/ws')));
  await page.waitForFunction((n) => Number(document.getElementById('conn-sse').textContent) >= n,
    sse0 + 3, { timeout: 5000 });
  await page.waitForFunction(() => Number(document.getElementById('conn-websocket').textContent) >= 2,
    null, { timeout: 5000 });

  // Published events raise the total and show a non-zero rate in.
  const published0 = await num(page, '#events-published');
  for (let i = 0; i < 20; i++) {
    const r = await jsonRequest(daemon.url('/api/publish'), 'POST',
      { topic: 'news:dash', event: 'news', data: { i } }, { Authorization: `Bearer ${PUBLISH_KEY}` });
    assert.equal(r.status, 200, r.text);
  }
  await page.waitForFunction((n) => Number(document.getElementById('events-published')
    .textContent.replace(/\D/g, '')) >= n, published0 + 20, { timeout: 5000 });
  await page.waitForFunction(() => Number(document.getElementById('rate-published').textContent
    .replace(/[^\d.]/g, '')) > 0, null, { timeout: 5000 });
  // Three subscribers got twenty each (delivery is counted as the writes finish: it may show
  // in the update after the one that counted the publishes).
  await page.waitForFunction(() => Number(document.getElementById('events-delivered')
    .textContent.replace(/\D/g, '')) >= 60, null, { timeout: 5000 });

  // The sale's stock gauge: 5, then 4 after one admitted buyer.
  await page.waitForSelector('tr[data-sale="dash"] .stock', { timeout: 5000 });
  await page.waitForFunction(() => document.querySelector('tr[data-sale="dash"] .stock')
    .textContent === '5', null, { timeout: 5000 });
  const buy = await jsonRequest(daemon.url('/api/seckill'), 'POST', { userId: 'dash-buyer', saleId: 'dash' });
  assert.equal(buy.status, 200, buy.text);
  await page.waitForFunction(() => document.querySelector('tr[data-sale="dash"] .stock')
    .textContent === '4', null, { timeout: 5000 });

  // The charts were drawn from real series.
  assert.ok(await page.$$eval('#chart-events polyline', (ps) => ps.length) >= 1);
  assert.deepEqual(page.errors, []);
});
