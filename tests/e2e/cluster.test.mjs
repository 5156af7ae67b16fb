// A cluster as deployed: real nginx with deploy/nginx/rushcast-cluster.conf (its upstream
// parameters kept) in front of three real daemons sharing one real redis-server. The Node
// `eventsource` client, cut off and sent back through nginx to another node after the node it
// was on was killed, resumes there with its Last-Event-ID: the missed events once, in order,
// with the ids the publishes were answered with, and no resync.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import EventSource from 'eventsource';
import { PUBLISH_KEY, jsonRequest, startDaemon } from './lib/daemon.mjs';
import { NGINX_CLUSTER_CONF, startNginx } from './lib/nginx.mjs';
import { startRedis } from './lib/redis.mjs';

let redis;
const nodes = [];
let nginx;
const cleanups = [];

before(async () => {
  redis = await startRedis();
  for (let i = 0; i < 3; i++) {
    nodes.push(await startDaemon({ overrides: {
      storage: { backend: 'redis', redis_url: redis.url },
      bus: { read_block_ms: 200 },
      sales: [], auctions: [], default_topics: [], sse: { retry_ms: 200 },
    } }));
  }
  nginx = await startNginx({ upstreamPorts: nodes.map((n) => n.port),
    confFile: NGINX_CLUSTER_CONF, keepServerParams: true });
});

after(async () => {
  for (const f of cleanups.reverse()) await f();
  if (nginx) await nginx.cleanup();
  for (const n of nodes) await n.cleanup();
  if (redis) await redis.cleanup();
});

async function publish(base, topic, data) {
  const r = await jsonRequest(base.url('/api/publish'), 'POST', { topic, event: 'news', data },
    { Authorization: `Bearer ${PUBLISH_KEY}` });
  assert.equal(r.status, 200, r.text);
  return String(r.json.id);
}

// SSE streams a node serves now, from its /metrics.
async function sseStreams(node) {
  const r = await fetch(node.url('/metrics'), { signal: AbortSignal.timeout(5000) });
  const m = /rushcast_connections\{transport="sse"\} (\d+)/.exec(await r.text());
  return m ? Number(m[1]) : -1;
}

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
  cleanups.push(async () => es.close());
  return rec;
}

test('an EventSource whose node died resumes on another node through nginx, missing nothing',
  { timeout: 90000 }, async () => {
    const rec = listen(nginx.url('/sse-updates?topics=news:cluster'), ['news', 'resync']);
    await rec.until(() => rec.opens === 1, 10000, 'open');
    const ids = [];
    // Published through nginx: whichever node takes a publish, every node's streams get it.
    for (let i = 1; i <= 2; i++) ids.push(await publish(nginx, 'news:cluster', { i }));
    await rec.until(() => rec.events.length >= 2, 10000, 'two live events');

    const counts = await Promise.all(nodes.map(sseStreams));
    const held = counts.indexOf(1);
    assert.ok(held >= 0 && counts.filter((c) => c > 0).length === 1, `streams ${counts}`);
    const others = nodes.filter((_, k) => k !== held);

    // Cut the client off, publish on the surviving nodes meanwhile, kill its node, let it back.
    await nginx.stop();
    await rec.until(() => rec.errors >= 1, 10000, 'the client noticing the drop');
    for (let i = 3; i <= 5; i++) ids.push(await publish(others[i % 2], 'news:cluster', { i }));
    await nodes[held].kill9();
    await nginx.start();
    await rec.until(() => rec.events.length >= 5, 20000, 'replay of the missed events');

    const after = await Promise.all(nodes.map((n, k) => (k === held ? 0 : sseStreams(n))));
    assert.equal(after.reduce((a, b) => a + b, 0), 1, `streams now ${after}`);
    assert.equal(after[held], 0);

    ids.push(await publish(nginx, 'news:cluster', { i: 6 }));
    await rec.until(() => rec.events.length >= 6, 10000, 'a live event after resume');

    assert.ok(rec.opens >= 2, 'the client reconnected by itself');
    assert.deepEqual(rec.events.map((e) => e.event), Array(6).fill('news'), 'no resync');
    assert.deepEqual(rec.events.map((e) => e.data.i), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(rec.events.map((e) => e.id), ids);
  });
