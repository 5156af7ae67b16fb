// curl against the real daemon: `curl -N` sees retry, the snapshot and live events on
// /sse-updates; the publish API refuses a request without the key.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PUBLISH_KEY, startDaemon } from './lib/daemon.mjs';
import { curl, curlSse } from './lib/curl.mjs';

const SALE = { id: 'e2e', name: 'E2E sale', stock: 7, start_at: '+1h', end_at: '+2h',
  per_user_limit: 1, process_rate_per_s: 0 };
let daemon;

before(async () => {
  daemon = await startDaemon({ overrides: {
    sales: [SALE], auctions: [], default_topics: ['sale:e2e'], sse: { retry_ms: 2500 },
  } });
});

after(async () => {
  if (!daemon) return;
  const code = await daemon.stop();
  assert.equal(code, 0, `daemon exit code after SIGTERM\n${daemon.log()}`);
  await daemon.cleanup();
});

test('curl -N sees retry, the sale snapshot and a published event', { timeout: 30000 }, async () => {
  const stream = await curlSse(daemon.url('/sse-updates?topics=sale:e2e,news:e2e'));
  try {
    assert.equal(stream.status, 200);
    assert.match(stream.headers['content-type'], /^text\/event-stream/);
    assert.equal(stream.headers['cache-control'], 'no-cache');
    assert.equal(stream.headers['x-accel-buffering'], 'no');

    const stock = await stream.next('stock', 5000);
    assert.equal(stream.retry, 2500, 'the stream opens with retry: <sse.retry_ms>');
    assert.match(stream.raw, /\r\n\r\nretry: 2500\n/, 'retry: is the first line of the body');
    assert.equal(stock.json.saleId, 'e2e');
    assert.equal(stock.json.stock, 7);
    assert.equal(stock.json.total, 7);
    const countdown = await stream.next('countdown', 5000);
    assert.equal(countdown.json.phase, 'upcoming');
    assert.ok(countdown.json.startTime > countdown.json.serverTime, 'start is in the future');
    assert.ok(Math.abs(countdown.json.serverTime - Date.now()) < 5000, 'serverTime is now');

    const data = { headline: 'doors open soon', n: 42 };
    const pub = await curl(daemon.url('/api/publish'), ['-X', 'POST',
      '-H', `Authorization: Bearer ${PUBLISH_KEY}`, '-H', 'Content-Type: application/json',
      '-d', JSON.stringify({ topic: 'news:e2e', event: 'flash', data })]);
    assert.equal(pub.status, 200, pub.body);
    assert.ok(pub.json && pub.json.id, `publish answers {"id"}: ${pub.body}`);

    const live = await stream.next('flash', 3000);
    assert.deepEqual(live.json, data);
    assert.equal(live.id, String(pub.json.id), 'the SSE id is the id the publisher got');
    // The raw wire format: id, event, one data line, blank line.
    assert.ok(stream.raw.includes(`id: ${pub.json.id}\nevent: flash\ndata: ${JSON.stringify(data)}\n\n`) ||
      stream.raw.includes(`event: flash\nid: ${pub.json.id}\ndata: `), 'one event block on the wire');
  } finally {
    await stream.close();
  }
});

test('a bare curl -N /sse-updates shows the default topics', { timeout: 20000 }, async () => {
  const stream = await curlSse(daemon.url('/sse-updates'));
  try {
    assert.equal(stream.status, 200);
    const stock = await stream.next('stock', 5000);
    assert.equal(stock.json.saleId, 'e2e');
    await stream.next('countdown', 5000);
  } finally {
    await stream.close();
  }
});

test('curl POST /api/publish without the key is 401 and publishes nothing', { timeout: 20000 },
  async () => {
    const stream = await curlSse(daemon.url('/sse-updates?topics=news:nokey'));
    try {
      const body = JSON.stringify({ topic: 'news:nokey', event: 'sneaky', data: { x: 1 } });
      const noKey = await curl(daemon.url('/api/publish'), ['-X', 'POST',
        '-H', 'Content-Type: application/json', '-d', body]);
      assert.equal(noKey.status, 401, noKey.body);
      assert.equal(typeof noKey.json?.error, 'string', 'errors are {"error", "message"}');
      const badKey = await curl(daemon.url('/api/publish'), ['-X', 'POST',
        '-H', 'Authorization: Bearer not-the-key', '-H', 'Content-Type: application/json',
        '-d', body]);
      assert.ok([401, 403].includes(badKey.status), `wrong key: ${badKey.status}`);
      // A keyed publish afterwards arrives, and it is the first event on the topic.
      const ok = await curl(daemon.url('/api/publish'), ['-X', 'POST',
        '-H', `Authorization: Bearer ${PUBLISH_KEY}`, '-H', 'Content-Type: application/json',
        '-d', JSON.stringify({ topic: 'news:nokey', event: 'legit', data: { y: 2 } })]);
      assert.equal(ok.status, 200, ok.body);
      const first = await stream.next(undefined, 3000, (e) => e.event !== 'resync');
      assert.equal(first.event, 'legit');
      assert.ok(!stream.events.some((e) => e.event === 'sneaky'));
    } finally {
      await stream.close();
    }
  });
