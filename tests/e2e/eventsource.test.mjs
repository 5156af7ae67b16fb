// The Node `eventsource` client (v2: reconnects by itself and sends Last-Event-ID) against the
// real daemon: a dropped connection resumes without loss or duplicates; a daemon restart makes
// the server say `resync`, then live events flow again on the same reconnecting client.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import EventSource from 'eventsource';
import { PUBLISH_KEY, freePort, jsonRequest, startDaemon } from './lib/daemon.mjs';
import { startNginx } from './lib/nginx.mjs';

const cleanups = [];
after(async () => {
  for (const f of cleanups.reverse()) await f();
});

// Wraps an EventSource: records every event of the given names, in arrival order.
function listen(url, names) {
  const es = new EventSource(url);
  const rec = { es, events: [], opens: 0, errors: 0, waiters: [] };
  const wake = () => { const w = rec.waiters; rec.waiters = []; w.forEach((f) => f()); };
  es.onopen = () => { rec.opens++; wake(); };
  es.onerror = () => { rec.errors++; wake(); };
  for (const name of names) {
    es.addEventListener(name, (e) => {
      rec.events.push({ event: name, id: e.lastEventId, data: JSON.parse(e.data) });
      wake();
    });
  }
  rec.until = async (check, timeoutMs, what) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${what}: ${JSON.stringify(rec.events)}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        rec.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  };
  rec.close = () => es.close();
  cleanups.push(async () => es.close());
  return rec;
}

async function publish(daemon, topic, data) {
  const r = await jsonRequest(daemon.url('/api/publish'), 'POST', { topic, event: 'news', data },
    { Authorization: `Bearer ${PUBLISH_KEY}` });
  assert.equal(r.status, 200, r.text);
  return String(r.json.id);
}

test('a dropped connection resumes with Last-Event-ID: missed events once, in order',
  { timeout: 60000 }, async () => {
    // The proxy restarting is a real way to cut a stream while the daemon keeps its history.
    const daemon = await startDaemon({ overrides: { sales: [], auctions: [], default_topics: [],
      sse: { retry_ms: 200 } } });
    cleanups.push(() => daemon.cleanup());
    const nginx = await startNginx({ upstreamPorts: [daemon.port] });
    cleanups.push(() => nginx.cleanup());

    const rec = listen(nginx.url('/sse-updates?topics=news:resume'), ['news', 'resync']);
    await rec.until(() => rec.opens === 1, 5000, 'open');
    const ids = [];
    for (let i = 1; i <= 2; i++) ids.push(await publish(daemon, 'news:resume', { i }));
    await rec.until(() => rec.events.length >= 2, 3000, 'two live events');

    await nginx.stop();
    await rec.until(() => rec.errors >= 1, 5000, 'the client noticing the drop');
    // Published while the client is cut off: it must get these on resume.
    for (let i = 3; i <= 5; i++) ids.push(await publish(daemon, 'news:resume', { i }));
    await nginx.start();
    await rec.until(() => rec.events.length >= 5, 10000, 'replay of the missed events');
    ids.push(await publish(daemon, 'news:resume', { i: 6 }));
    await rec.until(() => rec.events.length >= 6, 3000, 'a live event after resume');

    assert.ok(rec.opens >= 2, 'the client reconnected by itself');
    assert.deepEqual(rec.events.map((e) => e.event), Array(6).fill('news'), 'no resync');
    assert.deepEqual(rec.events.map((e) => e.data.i), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(rec.events.map((e) => e.id), ids);
    rec.close();
  });

test('after a daemon restart the reconnecting client gets resync, then live events',
  { timeout: 60000 }, async () => {
    // A fixed port, so that the same client finds the restarted daemon.
    const port = await freePort();
    const daemon = await startDaemon({ port, overrides: { sales: [], auctions: [],
      default_topics: [], sse: { retry_ms: 200 } } });
    cleanups.push(() => daemon.cleanup());

    const rec = listen(daemon.url('/sse-updates?topics=news:restart'), ['news', 'resync']);
    await rec.until(() => rec.opens === 1, 5000, 'open');
    const before = await publish(daemon, 'news:restart', { i: 1 });
    await rec.until(() => rec.events.length === 1, 3000, 'first event');
    assert.equal(rec.events[0].id, before);

    assert.equal(await daemon.stop(), 0, daemon.log());
    await daemon.start();
    assert.equal(daemon.port, port);
    await rec.until(() => rec.events.some((e) => e.event === 'resync'), 10000, 'resync');
    const resync = rec.events.find((e) => e.event === 'resync');
    assert.equal(typeof resync.data.reason, 'string');

    const after = await publish(daemon, 'news:restart', { i: 2 });
    await rec.until(() => rec.events.some((e) => e.id === after), 3000, 'event after restart');
    assert.notEqual(after, before, 'ids of the new epoch differ from the old');
    assert.deepEqual(rec.events.filter((e) => e.event === 'news').map((e) => e.data.i), [1, 2]);
    rec.close();
  });
