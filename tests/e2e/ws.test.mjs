// Node `ws` against the real daemon: subscribe, chat publish between two clients, presence,
// ping/pong, errors that keep the connection open, and close 1001 when the daemon stops.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon } from './lib/daemon.mjs';
import { openWs } from './lib/ws.mjs';

let daemon;
const open = [];

before(async () => {
  daemon = await startDaemon({ overrides: { sales: [], auctions: [], default_topics: [] } });
});

after(async () => {
  for (const c of open) c.terminate();
  if (daemon) await daemon.cleanup();
});

async function client(query) {
  const c = await openWs(daemon.wsUrl(`/ws?${query}`));
  open.push(c);
  return c;
}

test('two clients chat on a room: subscribe, publish, receive with id and topic',
  { timeout: 20000 }, async () => {
    const alice = await client('userId=alice&username=Alice');
    const bob = await client('userId=bob&username=Bob');
    const sa = await alice.request({ type: 'subscribe', topics: ['chat:lobby'] });
    assert.equal(sa.type, 'subscribed', JSON.stringify(sa));
    const sb = await bob.request({ type: 'subscribe', topics: ['chat:lobby'] });
    assert.equal(sb.type, 'subscribed', JSON.stringify(sb));

    const pub = await alice.request({ type: 'publish', topic: 'chat:lobby', event: 'message',
      data: { text: 'hello bob' } });
    assert.equal(pub.type, 'published', JSON.stringify(pub));
    assert.ok(pub.id, 'published carries the event id');

    const got = await bob.next('message', 3000, (m) => m.text === 'hello bob');
    assert.equal(got.topic, 'chat:lobby');
    assert.equal(String(got.id), String(pub.id));
    // The publisher is a subscriber too and gets its own message once.
    await alice.next('message', 3000, (m) => m.text === 'hello bob');
  });

test('presence: a second user joining and leaving is seen by the first', { timeout: 20000 },
  async () => {
    const carol = await client('userId=carol&username=Carol');
    await carol.request({ type: 'subscribe', topics: ['chat:presence'] });
    const dave = await client('userId=dave&username=Dave');
    await dave.request({ type: 'subscribe', topics: ['chat:presence'] });
    // Dave's snapshot of the room lists who was there (whether it counts Dave himself is
    // the server's choice; the contract does not say).
    const state = await dave.next('room_state', 3000);
    const ids = (state.users || []).map((u) => (typeof u === 'string' ? u : u.userId));
    assert.ok(ids.includes('carol'), JSON.stringify(state));
    assert.equal(state.topic, 'chat:presence');
    const join = await carol.next('join', 3000, (m) => m.userId === 'dave');
    assert.equal(join.topic, 'chat:presence');
    dave.close();
    await dave.waitClose(3000);
    const leave = await carol.next('leave', 5000, (m) => m.userId === 'dave');
    assert.equal(leave.topic, 'chat:presence');
  });

test('ping gets pong with serverTime', { timeout: 10000 }, async () => {
  const c = await client('userId=erin');
  const pong = await c.request({ type: 'ping' });
  assert.equal(pong.type, 'pong');
  assert.ok(Math.abs(pong.serverTime - Date.now()) < 5000, JSON.stringify(pong));
});

test('bad messages get an error and the connection stays open', { timeout: 10000 }, async () => {
  const c = await client('userId=frank');
  c.send('{not json');
  const bad = await c.next('error', 3000);
  assert.equal(typeof bad.code, 'string');
  // Clients may publish only on chat: topics.
  const forbidden = await c.request({ type: 'publish', topic: 'sale:demo', data: { stock: 0 } });
  assert.equal(forbidden.type, 'error', JSON.stringify(forbidden));
  const unknown = await c.request({ type: 'no-such-type' });
  assert.equal(unknown.type, 'error', JSON.stringify(unknown));
  const pong = await c.request({ type: 'ping' });
  assert.equal(pong.type, 'pong', 'still open after three errors');
  assert.equal(c.closeCode, undefined);
});

test('SIGTERM closes WebSockets with 1001 and the daemon exits 0', { timeout: 20000 }, async () => {
  const a = await client('userId=gina');
  const b = await client('userId=hank');
  await a.request({ type: 'subscribe', topics: ['chat:bye'] });
  const [code, codeA, codeB] = await Promise.all([daemon.stop(), a.waitClose(10000),
    b.waitClose(10000)]);
  assert.equal(codeA, 1001);
  assert.equal(codeB, 1001);
  assert.equal(code, 0, daemon.log());
});
