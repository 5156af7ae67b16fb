// Churn soak against a running rushcast on 127.0.0.1 (issue 17): STREAMS SSE and WebSocket
// streams that reconnect every RECONNECT_MIN_S..RECONNECT_MAX_S (SSE with Last-Event-ID),
// PUBLISH_RATE publishes/s, ADMIT_RATE admissions/s by fresh userIds (one `user:` topic each),
// BID_RATE bids/s. Every REPORT_S it prints one JSON line: the daemon's RSS, fds and threads
// (from /proc/SERVER_PID), gauges from /metrics, /healthz latency, and the clients' counters.
// After DURATION it stops every client, then keeps reporting for AFTER_S (the figures after
// the clients left), and exits. Node 20, no dependencies. Usage: bench/soak/run.sh (starts a
// daemon) or `URL=http://127.0.0.1:PORT SERVER_PID=PID PUBLISH_KEY=KEY node bench/soak/soak.mjs`.
// The streams run in STREAM_WORKERS worker threads (reading ~100k events/s is more than one
// thread does here); the main thread sends the requests and writes the report.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const env = process.env;
function seconds(v, dflt) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(v ?? dflt).trim());
  if (!m) throw new Error(`bad duration ${v}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'];
}
const cfg = {
  url: new URL(env.URL ?? 'http://127.0.0.1:8080'),
  duration_s: seconds(env.DURATION, '30m'),
  after_s: seconds(env.AFTER_S, '90s'),
  report_s: seconds(env.REPORT_S, '15s'),
  streams: Number(env.STREAMS ?? 3000),
  ws_share: Number(env.WS_SHARE ?? 0.5),
  reconnect_min_s: Number(env.RECONNECT_MIN_S ?? 5),
  reconnect_max_s: Number(env.RECONNECT_MAX_S ?? 60),
  ramp_s: Number(env.RAMP_S ?? 10),
  publish_rate: Number(env.PUBLISH_RATE ?? 90),
  admit_rate: Number(env.ADMIT_RATE ?? 170),
  bid_rate: Number(env.BID_RATE ?? 55),
  sale: env.SALE ?? 'soak',
  auction: env.AUCTION ?? 'soak',
  publish_key: env.PUBLISH_KEY ?? '',
  server_pid: Number(env.SERVER_PID ?? 0),
  http_conns: Number(env.HTTP_CONNS ?? 64),
  stream_workers: Math.max(1, Number(env.STREAM_WORKERS ?? 2)),
  max_in_flight: Number(env.MAX_IN_FLIGHT ?? 2000),
};
// Bounded in what it targets, how many connections it opens, and how long it runs.
if (!['127.0.0.1', 'localhost'].includes(cfg.url.hostname)) {
  console.error(`only 127.0.0.1 is allowed (got ${cfg.url.hostname})`);
  process.exit(2);
}
if (cfg.streams > 20000 || cfg.duration_s > 6 * 3600 || cfg.publish_rate + cfg.admit_rate + cfg.bid_rate > 5000) {
  console.error('STREAMS <= 20000, DURATION <= 6h, total request rate <= 5000/s');
  process.exit(2);
}
const host = '127.0.0.1';
const port = Number(cfg.url.port || 80);
const run_id = isMainThread ? Date.now().toString(36) : workerData.run_id;
const started = Date.now();
const c = {  // the clients' counters
  sse_opened: 0, ws_opened: 0, stream_errors: 0, events: 0, resyncs: 0, open_now: 0,
  publish_ok: 0, publish_err: 0, admit_ok: 0, admit_err: 0, bid_ok: 0, bid_too_low: 0,
  bid_err: 0, http_errors: 0, skipped: 0,
};
let stopping = false;

// ---- HTTP requests over a small keep-alive pool ----
const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.http_conns });
// The report's own requests: one short connection each, so that the http gauge shows the load's.
const report_agent = new http.Agent({ keepAlive: false });
function request(method, path, body, headers = {}, via = agent) {
  return new Promise((resolve) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const h = { ...headers };
    // JSON routes require it (415 otherwise).
    if (data !== undefined) { h['Content-Type'] = 'application/json'; h['Content-Length'] = Buffer.byteLength(data); }
    const t0 = process.hrtime.bigint();
    const req = http.request({ host, port, method, path, agent: via, headers: h, timeout: 10000 }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(),
        ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
      res.on('error', () => resolve({ status: 0, body: '', ms: 0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => { if (!stopping) c.http_errors++; resolve({ status: 0, body: '', ms: 0 }); });
    if (data !== undefined) req.write(data);
    req.end();
  });
}

// ---- streams ----
const rand = (lo, hi) => lo + Math.random() * (hi - lo);
const free_topics = 20;  // publishes go to soak:0..19; each stream follows one of them
// The query of stream k: its topics, and its own user (auth off: userId adds `user:U`).
function query_of(k) {
  return `topics=sale:${cfg.sale},auction:${cfg.auction},soak:${k % free_topics}&userId=w${run_id}-${k}`;
}
const live = new Set();  // sockets open now, closed at the end

function sse_stream(k, last_id) {
  if (stopping) return;
  const path = `/sse-updates?${query_of(k)}`;
  const headers = last_id ? { 'Last-Event-ID': last_id } : {};
  const req = http.get({ host, port, path, headers, agent: false });
  let sock = null, buf = '', id = last_id, closed = false;
  const end = (err) => {
    if (closed) return;
    closed = true;
    if (err && !stopping) c.stream_errors++;  // the end closes every stream on purpose
    if (sock) { live.delete(sock); c.open_now--; }
    setTimeout(() => sse_stream(k, id), err ? 1000 : 0);
  };
  req.on('response', (res) => {
    if (res.statusCode !== 200) { res.resume(); return end(true); }
    sock = res.socket; live.add(sock); c.open_now++; c.sse_opened++;
    res.setEncoding('utf8');
    // Only complete events count; the last id among them is what a reconnect resumes from.
    res.on('data', (d) => {
      buf += d;
      const done_at = buf.lastIndexOf('\n\n');
      if (done_at < 0) return;
      const done = '\n' + buf.slice(0, done_at + 1);
      buf = buf.slice(done_at + 2);
      for (let i = done.indexOf('\nevent: '); i >= 0; i = done.indexOf('\nevent: ', i + 8)) c.events++;
      if (done.includes('\nevent: resync\n')) c.resyncs++;
      const id_at = done.lastIndexOf('\nid: ');
      if (id_at >= 0) id = done.slice(id_at + 5, done.indexOf('\n', id_at + 5));
    });
    res.on('end', () => end(false));
    res.on('error', () => end(true));
    setTimeout(() => { req.destroy(); end(false); }, rand(cfg.reconnect_min_s, cfg.reconnect_max_s) * 1000);
  });
  req.on('error', () => end(true));
}

// A minimal RFC 6455 client: handshake, masked text frames out, unmasked frames in, pong.
function ws_stream(k) {
  if (stopping) return;
  const key = crypto.randomBytes(16).toString('base64');
  const sock = net.connect(port, host);
  let buf = Buffer.alloc(0), upgraded = false, closed = false;
  const end = (err) => {
    if (closed) return;
    closed = true;
    if (err && !stopping) c.stream_errors++;  // the end closes every stream on purpose
    if (upgraded) { live.delete(sock); c.open_now--; }
    sock.destroy();
    setTimeout(() => ws_stream(k), err ? 1000 : 0);
  };
  const send = (opcode, payload) => {
    const mask = crypto.randomBytes(4);
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len])
      : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 255]);
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
    sock.write(Buffer.concat([head, mask, body]));
  };
  sock.on('connect', () => {
    sock.write(`GET /ws?${query_of(k)} HTTP/1.1\r\nHost: ${host}:${port}\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
      'Sec-WebSocket-Version: 13\r\n\r\n');
  });
  sock.on('data', (d) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    if (!upgraded) {
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      if (!buf.subarray(0, 12).toString().includes(' 101')) return end(true);
      upgraded = true; live.add(sock); c.open_now++; c.ws_opened++;
      buf = buf.subarray(i + 4);
      setTimeout(() => end(false), rand(cfg.reconnect_min_s, cfg.reconnect_max_s) * 1000);
    }
    while (buf.length >= 2) {
      const opcode = buf[0] & 15;
      let len = buf[1] & 127, off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + len) return;
      const payload = buf.subarray(off, off + len);
      buf = buf.subarray(off + len);
      if (opcode === 1) {
        c.events++;
        if (payload.indexOf('"type":"resync"') >= 0) c.resyncs++;
      } else if (opcode === 9) send(10, payload);
      else if (opcode === 8) return end(false);
    }
  });
  sock.on('error', () => end(true));
  sock.on('close', () => end(false));
}

// ---- request streams at fixed rates ----
const timers = [];
let in_flight = 0;
// fn() at rate per second: what is owed follows the clock, so a late timer catches up; beyond
// MAX_IN_FLIGHT unanswered requests the request is skipped (counted), so memory stays bounded.
function every_rate(rate, fn) {
  if (rate <= 0) return;
  let owed = 0, last = Date.now();
  timers.push(setInterval(() => {
    const now = Date.now();
    owed = Math.min(owed + (rate * (now - last)) / 1000, rate);  // at most 1 s of catch-up
    last = now;
    for (; owed >= 1; owed--) {
      if (in_flight >= cfg.max_in_flight) { c.skipped++; continue; }
      in_flight++;
      fn().finally(() => in_flight--);
    }
  }, 20));
}
let pub_n = 0, buyer_n = 0, bid_price = 0;
const publish_headers = { Authorization: `Bearer ${cfg.publish_key}` };
function start_requests() {
every_rate(cfg.publish_rate, async () => {
  const n = pub_n++;
  const r = await request('POST', '/api/publish',
    { topic: `soak:${n % free_topics}`, event: 'message', data: { n, text: 'soak message' } }, publish_headers);
  r.status === 200 ? c.publish_ok++ : c.publish_err++;
});
every_rate(cfg.admit_rate, async () => {
  const r = await request('POST', '/api/seckill', { userId: `b${run_id}-${buyer_n++}`, saleId: cfg.sale });
  r.status === 200 ? c.admit_ok++ : c.admit_err++;
});
every_rate(cfg.bid_rate, async () => {
  const r = await request('POST', '/api/bid',
    { userId: `bidder${run_id}-${Math.floor(Math.random() * 500)}`, auctionId: cfg.auction, bidAmount: ++bid_price });
  if (r.status === 200) c.bid_ok++;
  else if (r.status === 409) {
    c.bid_too_low++;
    try { bid_price = Math.max(bid_price, JSON.parse(r.body).currentPrice ?? 0); } catch {}
  } else c.bid_err++;
});
}

// ---- the report ----
function proc_figures() {
  if (!cfg.server_pid) return {};
  try {
    const status = fs.readFileSync(`/proc/${cfg.server_pid}/status`, 'utf8');
    const field = (name) => Number((new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status) ?? [])[1]);
    return { rss_kb: field('VmRSS'), threads: field('Threads'), fds: fs.readdirSync(`/proc/${cfg.server_pid}/fd`).length };
  } catch { return { rss_kb: null }; }
}
// /metrics series -> report keys.
const wanted_gauges = {
  'rushcast_connections{transport="sse"}': 'sse_conns',
  'rushcast_connections{transport="websocket"}': 'ws_conns',
  'rushcast_connections{transport="http"}': 'http_conns',
  'rushcast_topics_subscribed{}': 'topics_subscribed',
  'rushcast_history_topics{}': 'history_topics',
  'rushcast_history_events{}': 'history_events',
  'rushcast_topics_removed{}': 'topics_removed',
};
// /healthz timed by curl: a busy event loop here must not count as the daemon's latency.
function healthz_ms() {
  return new Promise((resolve) => execFile('curl', ['-s', '-o', '/dev/null', '-m', '10', '-w', '%{http_code} %{time_total}',
    `http://${host}:${port}/healthz`], (err, out) => {
    const [code, secs] = String(out ?? '').split(' ');
    resolve({ status: Number(code) || 0, ms: Math.round(Number(secs) * 1e5) / 100 });
  }));
}
const worker_counts = new Map();  // the streams' counters, by worker
function counters() {
  const all = { ...c };
  for (const w of worker_counts.values()) for (const [k, v] of Object.entries(w)) all[k] += v;
  return all;
}
async function report(phase) {
  const health = await healthz_ms();
  const m = await request('GET', '/metrics', undefined, {}, report_agent);
  const gauges = {};
  for (const line of m.body.split('\n')) {
    const sp = line.lastIndexOf(' ');
    const name = line.slice(0, sp);
    if (wanted_gauges[name]) gauges[wanted_gauges[name]] = Number(line.slice(sp + 1));
  }
  const line = { t_s: Math.round((Date.now() - started) / 1000), phase, ...proc_figures(),
    healthz_ms: health.ms, healthz_status: health.status, ...gauges, clients: counters() };
  console.log(JSON.stringify(line));
}

// Streams k = first, first + step, ... of this thread.
function start_streams(first, step) {
  for (let k = first; k < cfg.streams; k += step) {
    // Spread over RAMP_S so the start is not one burst of handshakes.
    setTimeout(() => (Math.random() < cfg.ws_share ? ws_stream(k) : sse_stream(k, null)),
      (k / cfg.streams) * cfg.ramp_s * 1000);
  }
}
function stop_streams() {
  stopping = true;
  for (const s of live) s.destroy();
  live.clear();
}

if (!isMainThread) {
  start_streams(workerData.first, workerData.step);
  const post = () => parentPort.postMessage({ counts: { ...c } });
  const t = setInterval(post, 1000);
  parentPort.on('message', (m) => {
    if (m !== 'stop') return;
    stop_streams();
    clearInterval(t);
    setTimeout(() => { post(); setTimeout(() => process.exit(0), 200); }, 500);
  });
} else {
console.error(`soak: ${JSON.stringify({ ...cfg, url: cfg.url.href, publish_key: cfg.publish_key ? '(set)' : '' })}`);
await report('start');
const workers = [];
for (let i = 0; i < cfg.stream_workers; i++) {
  const w = new Worker(new URL(import.meta.url), { workerData: { run_id, first: i, step: cfg.stream_workers } });
  w.on('message', (m) => worker_counts.set(i, m.counts));
  w.on('error', (e) => console.error(`stream worker ${i}: ${e.stack ?? e}`));
  workers.push(w);
}
start_requests();
// One report at a time, every REPORT_S (a slow /healthz delays the next one, never doubles it).
const load_end = Date.now() + cfg.duration_s * 1000;
for (let next = Date.now() + cfg.report_s * 1000; next < load_end; next += cfg.report_s * 1000) {
  await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  await report('load');
}
await new Promise((r) => setTimeout(r, Math.max(0, load_end - Date.now())));

// Stop every client, then watch the daemon without them.
stopping = true;
for (const t of timers) clearInterval(t);
await Promise.all(workers.map((w) => new Promise((r) => { w.once('exit', r); w.postMessage('stop'); })));
// The load's keep-alive connections leave too, once their last answers are in (at most 10 s).
for (const until = Date.now() + 10000; in_flight > 0 && Date.now() < until;)
  await new Promise((r) => setTimeout(r, 100));
agent.destroy();
await new Promise((r) => setTimeout(r, 2000));
await report('clients_gone');
const after_end = Date.now() + cfg.after_s * 1000;
while (Date.now() < after_end) {
  await new Promise((r) => setTimeout(r, Math.min(cfg.report_s * 1000, after_end - Date.now())));
  await report('after');
}
process.exit(0);
}
