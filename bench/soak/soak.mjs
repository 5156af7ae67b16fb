// Churn soak against a running rushcast on 127.0.0.1 (issue 17): STREAMS SSE and WebSocket
// streams that reconnect every RECONNECT_MIN_S..RECONNECT_MAX_S (SSE with Last-Event-ID),
// PUBLISH_RATE publishes/s, ADMIT_RATE admissions/s by fresh userIds (one `user:` topic each),
// BID_RATE bids/s. Every REPORT_S it prints one JSON line: the daemon's RSS, fds and threads
// (from /proc/SERVER_PID), gauges from /metrics, /healthz latency, and the clients' counters.
// After DURATION it stops every client, then keeps reporting for AFTER_S (the figures after
// the clients left), and exits. Node 20, no dependencies. Usage: bench/soak/run.sh (starts a
// daemon) or `URL=http://127.0.0.1:PORT SERVER_PID=PID PUBLISH_KEY=KEY node bench/soak/soak.mjs`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';

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
  http_conns: Number(env.HTTP_CONNS ?? 16),
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
const run_id = Date.now().toString(36);
const started = Date.now();
const c = {  // the clients' counters
  sse_opened: 0, ws_opened: 0, stream_errors: 0, events: 0, resyncs: 0, open_now: 0,
  publish_ok: 0, publish_err: 0, admit_ok: 0, admit_err: 0, bid_ok: 0, bid_too_low: 0,
  bid_err: 0, http_errors: 0,
};
let stopping = false;

// ---- HTTP requests over a small keep-alive pool ----
const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.http_conns });
function request(method, path, body, headers = {}) {
  return new Promise((resolve) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const h = { ...headers };
    // JSON routes require it (415 otherwise).
    if (data !== undefined) { h['Content-Type'] = 'application/json'; h['Content-Length'] = Buffer.byteLength(data); }
    const t0 = process.hrtime.bigint();
    const req = http.request({ host, port, method, path, agent, headers: h, timeout: 10000 }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(),
        ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
      res.on('error', () => resolve({ status: 0, body: '', ms: 0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => { c.http_errors++; resolve({ status: 0, body: '', ms: 0 }); });
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
    if (err) c.stream_errors++;
    if (sock) { live.delete(sock); c.open_now--; }
    setTimeout(() => sse_stream(k, id), err ? 1000 : 0);
  };
  req.on('response', (res) => {
    if (res.statusCode !== 200) { res.resume(); return end(true); }
    sock = res.socket; live.add(sock); c.open_now++; c.sse_opened++;
    res.setEncoding('utf8');
    res.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i); buf = buf.slice(i + 2);
        let ev = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) id = line.slice(4);
          else if (line.startsWith('event: ')) ev = line.slice(7);
        }
        if (ev) { c.events++; if (ev === 'resync') c.resyncs++; }
      }
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
    if (err) c.stream_errors++;
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
    buf = Buffer.concat([buf, d]);
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
        if (payload.includes('"type":"resync"')) c.resyncs++;
      } else if (opcode === 9) send(10, payload);
      else if (opcode === 8) return end(false);
    }
  });
  sock.on('error', () => end(true));
  sock.on('close', () => end(false));
}

// ---- request streams at fixed rates ----
const timers = [];
function every_rate(rate, fn) {
  if (rate <= 0) return;
  // Ticks of 20 ms; the fraction carries over so the mean rate is exact.
  let owed = 0;
  timers.push(setInterval(() => {
    owed += rate / 50;
    for (; owed >= 1; owed--) fn();
  }, 20));
}
let pub_n = 0, buyer_n = 0, bid_price = 0;
const publish_headers = { Authorization: `Bearer ${cfg.publish_key}` };
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

// ---- the report ----
function proc_figures() {
  if (!cfg.server_pid) return {};
  try {
    const status = fs.readFileSync(`/proc/${cfg.server_pid}/status`, 'utf8');
    const field = (name) => Number((new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status) ?? [])[1]);
    return { rss_kb: field('VmRSS'), threads: field('Threads'), fds: fs.readdirSync(`/proc/${cfg.server_pid}/fd`).length };
  } catch { return { rss_kb: null }; }
}
const wanted_gauges = [
  'rushcast_connections{transport="sse"}', 'rushcast_connections{transport="websocket"}',
  'rushcast_connections{transport="http"}', 'rushcast_topics_subscribed{}',
  'rushcast_history_topics{}', 'rushcast_history_events{}', 'rushcast_topics_removed{}',
];
async function report(phase) {
  const health = await request('GET', '/healthz');
  const m = await request('GET', '/metrics');
  const gauges = {};
  for (const line of m.body.split('\n')) {
    const sp = line.lastIndexOf(' ');
    const name = line.slice(0, sp);
    if (wanted_gauges.includes(name)) gauges[name.replace('{}', '').replace('rushcast_', '')] = Number(line.slice(sp + 1));
  }
  const line = { t_s: Math.round((Date.now() - started) / 1000), phase, ...proc_figures(),
    healthz_ms: Math.round(health.ms * 100) / 100, healthz_status: health.status, ...gauges, clients: { ...c } };
  console.log(JSON.stringify(line));
}

console.error(`soak: ${JSON.stringify({ ...cfg, url: cfg.url.href, publish_key: cfg.publish_key ? '(set)' : '' })}`);
await report('start');
for (let k = 0; k < cfg.streams; k++) {
  // Spread over RAMP_S so the start is not one burst of handshakes.
  setTimeout(() => (Math.random() < cfg.ws_share ? ws_stream(k) : sse_stream(k, null)),
    (k / cfg.streams) * cfg.ramp_s * 1000);
}
const report_timer = setInterval(() => report('load'), cfg.report_s * 1000);
await new Promise((r) => setTimeout(r, cfg.duration_s * 1000));

// Stop every client, then watch the daemon without them.
stopping = true;
for (const t of timers) clearInterval(t);
clearInterval(report_timer);
for (const s of live) s.destroy();
live.clear();
await new Promise((r) => setTimeout(r, 2000));
await report('clients_gone');
const after_end = Date.now() + cfg.after_s * 1000;
while (Date.now() < after_end) {
  await new Promise((r) => setTimeout(r, Math.min(cfg.report_s * 1000, after_end - Date.now())));
  await report('after');
}
agent.destroy();
process.exit(0);
