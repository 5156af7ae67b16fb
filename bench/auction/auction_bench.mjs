// Auction benchmark: W WebSocket watchers on auction:ID and B closed-loop bidders; reports
// accepted bids/s and bid-to-watcher latency (bid sent -> price_update carrying that price).
// Usage: node auction_bench.mjs PORT [auctionId] [watchers] [bidders] [seconds]
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tests/e2e/package.json'));
const WebSocket = require('ws');

const [port, id = 'bench', watchersN = '1000', biddersN = '4', secondsS = '10'] = process.argv.slice(2);
const W = Number(watchersN), B = Number(biddersN), seconds = Number(secondsS);
const base = `ws://127.0.0.1:${port}/ws?topics=auction:${id}`;

const sentAt = new Map();  // amount -> hrtime ms when sent
const lat = [];
let updates = 0;
const now = () => Number(process.hrtime.bigint()) / 1e6;

function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const watchers = [];
for (let i = 0; i < W; i += 50) {
  const batch = [];
  for (let j = i; j < Math.min(W, i + 50); j++) batch.push(open(base));
  watchers.push(...await Promise.all(batch));
}
for (const ws of watchers) {
  ws.on('message', (m) => {
    const s = m.toString();
    if (!s.includes('"price_update"')) return;
    const ev = JSON.parse(s);
    const t0 = sentAt.get(ev.currentPrice);
    updates++;
    if (t0 !== undefined) lat.push(now() - t0);
  });
}

let next = 1000;
let accepted = 0, refused = 0, running = true;
const bidders = [];
for (let b = 0; b < B; b++) bidders.push(await open(`ws://127.0.0.1:${port}/ws?userId=bidder${b}`));
const t0 = now();
await Promise.all(bidders.map((ws, b) => new Promise((resolve) => {
  const send = () => {
    if (!running) { resolve(); return; }
    next += 10;
    sentAt.set(next, now());
    ws.send(JSON.stringify({ type: 'bid', auctionId: id, bidAmount: next }));
  };
  ws.on('message', (m) => {
    const ev = JSON.parse(m.toString());
    if (ev.type === 'accepted') accepted++;
    else if (ev.type === 'error') refused++;
    else return;
    send();
  });
  send();
  setTimeout(() => { running = false; }, seconds * 1000);
})));
const elapsed = (now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 500));  // let the last updates arrive
lat.sort((a, b) => a - b);
const pct = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2) : 'n/a';
console.log(JSON.stringify({
  watchers: W, bidders: B, seconds: Number(elapsed.toFixed(2)),
  accepted, refused, accepted_per_s: Math.round(accepted / elapsed),
  price_updates_received: updates, deliveries_per_s: Math.round(updates / elapsed),
  latency_ms: { samples: lat.length, p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: pct(1) },
}));
for (const ws of [...watchers, ...bidders]) ws.terminate();
process.exit(0);
