// Real nginx with deploy/nginx/rushcast.conf in front of the real daemon: SSE is not buffered
// (events within a second, heartbeats flow), WebSocket upgrades on /ws and /, the API and the
// static pages work through the proxy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PUBLISH_KEY, jsonRequest, startDaemon } from './lib/daemon.mjs';
import { startNginx } from './lib/nginx.mjs';
import { curl, curlSse } from './lib/curl.mjs';
import { openWs } from './lib/ws.mjs';

const SALE = { id: 'nx', name: 'nginx sale', stock: 3, start_at: '+1h', end_at: '+2h' };
let daemon;
let nginx;
const sockets = [];

before(async () => {
  daemon = await startDaemon({ overrides: {
    sales: [SALE], auctions: [], default_topics: [], heartbeat_ms: 300,
  } });
  nginx = await startNginx({ upstreamPorts: [daemon.port] });
});

after(async () => {
  for (const s of sockets) s.terminate();
  if (nginx) await nginx.cleanup();
  if (daemon) await daemon.cleanup();
});

const publish = (topic, event, data, base = nginx) => jsonRequest(base.url('/api/publish'), 'POST',
  { topic, event, data }, { Authorization: `Bearer ${PUBLISH_KEY}` });

test('the first SSE event and a live event reach curl -N through nginx within a second',
  { timeout: 30000 }, async () => {
    const t0 = Date.now();
    // --compressed: even a client that accepts gzip must get the stream uncompressed.
    const stream = await curlSse(nginx.url('/sse-updates?topics=sale:nx,news:nx'),
      ['--compressed']);
    try {
      assert.equal(stream.status, 200);
      assert.match(stream.headers['content-type'], /^text\/event-stream/);
      assert.equal(stream.headers['content-encoding'], undefined);
      const first = await stream.next('stock', 1000);
      assert.ok(first.at - t0 < 1000, `snapshot after ${first.at - t0} ms`);
      assert.equal(first.json.stock, 3);
      assert.equal(stream.retry > 0, true, 'retry: passed through');

      for (let i = 0; i < 3; i++) {
        const sent = Date.now();
        const r = await publish('news:nx', 'tick', { i });
        assert.equal(r.status, 200, r.text);
        const ev = await stream.next('tick', 1000, (e) => e.json?.i === i);
        assert.ok(ev.at - sent < 1000, `event ${i} after ${ev.at - sent} ms`);
        assert.equal(ev.id, String(r.json.id));
      }
    } finally {
      await stream.close();
    }
  });

test('heartbeats keep flowing through nginx on an idle stream', { timeout: 20000 }, async () => {
  const stream = await curlSse(nginx.url('/sse-updates?topics=news:idle'));
  try {
    await stream.nextComment(4, 5000);
    const pings = stream.comments.filter((c) => c.text === 'ping');
    assert.ok(pings.length >= 4, JSON.stringify(stream.comments));
    // Spaced by heartbeat_ms, not delivered in one late burst.
    const gaps = pings.slice(1).map((p, i) => p.at - pings[i].at);
    assert.ok(gaps.some((g) => g >= 150), `gaps ${gaps}`);
  } finally {
    await stream.close();
  }
});

test('a WebSocket upgrades through nginx on /ws and on / and exchanges messages',
  { timeout: 20000 }, async () => {
    const viaWs = await openWs(nginx.wsUrl('/ws?userId=via-ws'));
    sockets.push(viaWs);
    const viaRoot = await openWs(nginx.wsUrl('/?userId=via-root'));
    sockets.push(viaRoot);
    const direct = await openWs(daemon.wsUrl('/ws?userId=direct'));
    sockets.push(direct);

    const pong = await viaWs.request({ type: 'ping' });
    assert.equal(pong.type, 'pong');
    assert.equal((await viaRoot.request({ type: 'ping' })).type, 'pong');

    for (const c of [viaWs, viaRoot, direct]) {
      const r = await c.request({ type: 'subscribe', topics: ['chat:proxy'] });
      assert.equal(r.type, 'subscribed', JSON.stringify(r));
    }
    const pub = await direct.request({ type: 'publish', topic: 'chat:proxy', event: 'message',
      data: { text: 'through nginx' } });
    assert.equal(pub.type, 'published');
    for (const c of [viaWs, viaRoot]) {
      const m = await c.next('message', 2000, (x) => x.text === 'through nginx');
      assert.equal(String(m.id), String(pub.id));
    }
    const back = await viaRoot.request({ type: 'publish', topic: 'chat:proxy', event: 'message',
      data: { text: 'and back' } });
    assert.equal(back.type, 'published');
    await direct.next('message', 2000, (x) => x.text === 'and back');
  });

test('API requests work through nginx', { timeout: 20000 }, async () => {
  const time = await jsonRequest(nginx.url('/time'));
  assert.equal(time.status, 200);
  assert.ok(Math.abs(time.json.serverTime - Date.now()) < 5000);

  assert.equal((await jsonRequest(nginx.url('/healthz'))).status, 200);
  const sale = await jsonRequest(nginx.url('/api/sales/nx'));
  assert.equal(sale.status, 200, sale.text);
  assert.equal(sale.json.stock, 3);

  const noKey = await curl(nginx.url('/api/publish'), ['-X', 'POST', '-H',
    'Content-Type: application/json', '-d', '{"topic":"news:nx","data":{}}']);
  assert.equal(noKey.status, 401, noKey.body);
  const ok = await publish('news:nx', 'message', { via: 'nginx' });
  assert.equal(ok.status, 200, ok.text);

  // A body over the limit is refused by nginx before it reaches the daemon.
  const big = await jsonRequest(nginx.url('/api/publish'), 'POST',
    { topic: 'news:nx', data: { pad: 'x'.repeat(70000) } }, { Authorization: `Bearer ${PUBLISH_KEY}` });
  assert.equal(big.status, 413);

  // Long-poll with a short wait answers in time through the proxy.
  const t0 = Date.now();
  const lp = await jsonRequest(nginx.url('/long-poll?topics=news:quiet&timeout=500'));
  assert.equal(lp.status, 200, lp.text);
  assert.ok(Date.now() - t0 < 5000);
});

test('nginx serves the static pages', { timeout: 10000 }, async () => {
  const index = await jsonRequest(nginx.url('/'));
  assert.equal(index.status, 200);
  assert.match(index.text, /href="dashboard\.html"/);
  assert.match(index.text, /href="seckill\.html"/);
  assert.match(index.text, /href="auction\.html"/);
  const dash = await jsonRequest(nginx.url('/dashboard.html'));
  assert.equal(dash.status, 200);
  assert.match(dash.headers.get('content-type'), /text\/html/);
  // Metrics answer to localhost (the test runs there).
  const metrics = await jsonRequest(nginx.url('/metrics'));
  assert.equal(metrics.status, 200);
  assert.match(metrics.text, /rushcast_connections\{transport="sse"\}/);
});
