// The nginx site as a shop deploys it (deploy/nginx/rushcast.conf + rushcast-tls.conf): HTTPS
// with HTTP/2 in front of the real daemon, with a certificate made for the test. SSE streams stay
// unbuffered over HTTP/2, one browser page holds ten of them, wss:// works, plain HTTP redirects
// except ACME challenges, and nginx -t accepts the shipped files with only the certificate changed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PUBLISH_KEY, makeTempDir, startDaemon } from './lib/daemon.mjs';
import { NGINX_BIN, NGINX_CONF, NGINX_TLS_CONF, SHIPPED_TLS_INCLUDE, makeTestCertificate,
  rewriteTlsConf, startNginx } from './lib/nginx.mjs';
import { curlSse } from './lib/curl.mjs';
import { openWs } from './lib/ws.mjs';
import { launchBrowser } from './lib/browser.mjs';

const SALE = { id: 'tls', name: 'TLS sale', stock: 5, start_at: '+1h', end_at: '+2h' };
const AUCTION = { id: 'tlslamp', name: 'Lamp over TLS', start_price: 100, min_increment: 10,
  reserve_price: 0, start_at: '2020-01-01T00:00:00Z', end_at: '+1h', extend_window_ms: 0,
  extend_by_ms: 0 };
let daemon;
let nginx;
let browser;
const cleanups = [];

before(async () => {
  daemon = await startDaemon({ overrides: {
    sales: [SALE], auctions: [AUCTION], default_topics: [], heartbeat_ms: 1000,
  } });
  nginx = await startNginx({ upstreamPorts: [daemon.port], tls: true });
});

after(async () => {
  for (const c of cleanups.reverse()) await c();
  if (browser) await browser.close();
  if (nginx) await nginx.cleanup();
  if (daemon) await daemon.cleanup();
});

// curl, synchronously: {code (curl's exit code), out, err}. -k: the test's own certificate.
function curlSync(args, timeoutMs = 15000) {
  const r = spawnSync('curl', ['-sS', '-k', '--max-time', '10', ...args],
    { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// The same without blocking the event loop, for a server that runs in this process.
function curlAsync(args) {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '-k', '--max-time', '10', ...args], { encoding: 'utf8' },
      (e, out, err) => resolve({ code: e ? e.code : 0, out, err }));
  });
}

// POST /api/publish through nginx over HTTPS (HTTP/2), as a backend does: {status, json}.
function publishViaNginx(topic, event, data) {
  const r = curlSync(['--http2', '-X', 'POST', '-H', 'Content-Type: application/json',
    '-H', `Authorization: Bearer ${PUBLISH_KEY}`, '-d', JSON.stringify({ topic, event, data }),
    '-w', '\n%{http_code}', nginx.url('/api/publish')]);
  assert.equal(r.code, 0, r.err);
  const nl = r.out.lastIndexOf('\n');
  return { status: Number(r.out.slice(nl + 1)), json: JSON.parse(r.out.slice(0, nl) || 'null') };
}

async function browserPage() {
  if (!browser) browser = await launchBrowser();
  // The test's certificate is self-signed: accepted here as a real one would be.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  cleanups.push(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  return page;
}

test('curl --http2 gets retry:, the snapshot and live events over HTTP/2 within a second',
  { timeout: 30000 }, async () => {
    const t0 = Date.now();
    // --compressed: even a client that accepts gzip must get the stream uncompressed.
    const stream = await curlSse(nginx.url('/sse-updates?topics=sale:tls,news:tls'),
      ['--http2', '-k', '--compressed']);
    try {
      // The status line says which protocol ALPN chose: HTTP/2, not a fallback to HTTP/1.1.
      assert.match(stream.raw, /^HTTP\/2 200/, stream.raw.slice(0, 200));
      assert.match(stream.headers['content-type'], /^text\/event-stream/);
      assert.equal(stream.headers['content-encoding'], undefined);
      const first = await stream.next('stock', 1000);
      assert.ok(first.at - t0 < 1000, `snapshot after ${first.at - t0} ms`);
      assert.equal(first.json.stock, 5);
      assert.ok(stream.retry > 0, 'retry: came before the snapshot');
      await stream.next('countdown', 1000);

      for (let i = 0; i < 3; i++) {
        const sent = Date.now();
        const r = publishViaNginx('news:tls', 'tick', { i });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        const ev = await stream.next('tick', 1000, (e) => e.json?.i === i);
        assert.ok(ev.at - sent < 1000, `event ${i} after ${ev.at - sent} ms`);
        assert.equal(ev.id, String(r.json.id));
      }
      // Heartbeats flow too: nothing holds small DATA frames back.
      await stream.nextComment(0, 3000);
    } finally {
      await stream.close();
    }
  });

test('ALPN offers h2 and http/1.1, with the TLS 1.2 suites of the intermediate profile only',
  { timeout: 30000 }, () => {
    const version = (args) => curlSync([...args, '-o', '/dev/null', '-w', '%{http_version}',
      nginx.url('/time')]);
    assert.deepEqual(version(['--http2']), { code: 0, out: '2', err: '' });
    assert.deepEqual(version(['--http1.1']), { code: 0, out: '1.1', err: '' });
    // TLS 1.2 with a profile suite works; a suite outside the profile (RSA key exchange, no
    // forward secrecy, CBC), which nginx's default "HIGH:!aNULL:!MD5" would accept, is refused.
    assert.equal(version(['--http2', '--tls-max', '1.2', '--ciphers',
      'ECDHE-RSA-AES128-GCM-SHA256']).out, '2');
    const weak = version(['--tls-max', '1.2', '--ciphers', 'AES128-SHA']);
    assert.equal(weak.code, 35, `handshake refused: ${JSON.stringify(weak)}`);
  });

test('one HTTPS page holds ten EventSources to one origin, and every one gets the event',
  { timeout: 60000 }, async () => {
    const page = await browserPage();
    await page.goto(nginx.url('/index.html'));
    await openSources(page, 10, '/sse-updates?topics=news:ten');
    // Over HTTP/1.1 only six would open (next test); over HTTP/2 all ten are streams of one
    // connection.
    await page.waitForFunction(() => window.opened.every(Boolean), null, { timeout: 5000 })
      .catch(() => {});
    assert.equal(await page.evaluate(() => window.opened.filter(Boolean).length), 10,
      'streams open');
    const r = publishViaNginx('news:ten', 'burst', { n: 1 });
    assert.equal(r.status, 200);
    await page.waitForFunction(() => window.received.every((e) => e !== null), null,
      { timeout: 2000 });
    const ids = await page.evaluate(() => window.received.map((e) => e.id));
    assert.deepEqual(ids, Array(10).fill(String(r.json.id)));
    assert.equal(await page.evaluate(() =>
      performance.getEntriesByType('navigation')[0].nextHopProtocol), 'h2');
    await page.evaluate(() => window.sources.forEach((s) => s.close()));
  });

test('contrast: over HTTP/1.1 the same page gets only six streams, the seventh waits',
  { timeout: 60000 }, async () => {
    const page = await browserPage();
    await page.goto(daemon.url('/index.html'));  // the daemon itself: HTTP/1.1, no TLS
    assert.equal(await page.evaluate(() =>
      performance.getEntriesByType('navigation')[0].nextHopProtocol), 'http/1.1');
    await openSources(page, 10, '/sse-updates?topics=news:six');
    await page.waitForFunction(() => window.opened.filter(Boolean).length >= 6, null,
      { timeout: 5000 });
    const r = await daemon.publish('news:six', { n: 1 }, 'burst');
    assert.equal(r.status, 200);
    await page.waitForFunction(() => window.received.filter((e) => e !== null).length >= 6,
      null, { timeout: 2000 });
    await new Promise((resolve) => setTimeout(resolve, 700));
    const got = await page.evaluate(() => window.received.filter((e) => e !== null).length);
    assert.equal(got, 6, 'Chromium opens six HTTP/1.1 connections per origin');
    await page.evaluate(() => window.sources.forEach((s) => s.close()));
  });

// Opens n EventSources in the page; window.opened[i] once the response came, window.received[i]
// the first `burst` event.
function openSources(page, n, url) {
  return page.evaluate(([count, u]) => {
    window.opened = Array(count).fill(false);
    window.received = Array(count).fill(null);
    window.sources = [];
    for (let i = 0; i < count; i++) {
      const es = new EventSource(u);
      es.onopen = () => { window.opened[i] = true; };
      es.addEventListener('burst', (e) => {
        if (window.received[i] === null) window.received[i] = { id: e.lastEventId, data: e.data };
      });
      window.sources.push(es);
    }
  }, [n, url]);
}

test('wss:// upgrades on /ws and on / and answers ping with pong', { timeout: 20000 }, async () => {
  for (const p of ['/ws?userId=tls-a', '/?userId=tls-b']) {
    const ws = await openWs(nginx.wsUrl(p), { rejectUnauthorized: false });
    cleanups.push(() => ws.terminate());
    const pong = await ws.request({ type: 'ping' });
    assert.equal(pong.type, 'pong', JSON.stringify(pong));
    assert.ok(Math.abs(pong.serverTime - Date.now()) < 5000);
  }
});

test('the auction page loaded over HTTPS connects with wss: and goes live', { timeout: 60000 },
  async () => {
    const page = await browserPage();
    const sockets = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(nginx.url('/auction.html?id=tlslamp&userId=tls-page'));
    await page.waitForFunction(() => document.getElementById('conn').textContent.trim() === 'live',
      null, { timeout: 10000 });
    await page.waitForFunction(() => document.getElementById('price').textContent.trim() === '100',
      null, { timeout: 10000 });
    assert.ok(sockets.length > 0 && sockets.every((u) => u.startsWith('wss://127.0.0.1:')),
      JSON.stringify(sockets));
  });

test('plain HTTP redirects to HTTPS, except ACME challenges', { timeout: 20000 }, () => {
  const head = (url, args = []) => curlSync([...args, '-o', '/dev/null', '-w',
    '%{http_code} %{redirect_url}', url]).out;
  assert.equal(head(nginx.httpUrl('/seckill.html?id=tls')),
    '301 https://127.0.0.1/seckill.html?id=tls');
  assert.equal(head(nginx.httpUrl('/sse-updates?topics=news:tls')),
    '301 https://127.0.0.1/sse-updates?topics=news:tls');
  // A backend POSTing to http:// is not proxied: its request never reaches the daemon.
  assert.equal(head(nginx.httpUrl('/api/publish'), ['-X', 'POST', '-H',
    'Content-Type: application/json', '-d', '{"topic":"news:tls","data":{}}']),
  '301 https://127.0.0.1/api/publish');

  // certbot --webroot writes the token here; the CA fetches it over plain HTTP.
  const dir = path.join(nginx.acmeDir, '.well-known', 'acme-challenge');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tok-123'), 'tok-123.thumbprint');
  const token = curlSync(['-w', ' %{http_code} %{content_type}',
    nginx.httpUrl('/.well-known/acme-challenge/tok-123')]);
  assert.equal(token.out, 'tok-123.thumbprint 200 text/plain');
  assert.equal(head(nginx.httpUrl('/.well-known/acme-challenge/x')), '404 ');
});

test('the daemon gets the browser\'s Host (with port), X-Forwarded-Proto https and X-Real-IP',
  { timeout: 30000 }, async () => {
    // A stand-in upstream that records what nginx sends, over HTTP/2 and over a wss upgrade.
    const seen = [];
    const echo = http.createServer((req, res) => {
      seen.push({ url: req.url, headers: req.headers });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
    echo.on('upgrade', (req, socket) => {
      seen.push({ url: req.url, headers: req.headers });
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
    });
    await new Promise((resolve) => echo.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => echo.close(resolve)));
    const proxy = await startNginx({ upstreamPorts: [echo.address().port], tls: true });
    cleanups.push(() => proxy.cleanup());

    const viaH2 = await curlAsync(['--http2', '-o', '/dev/null', '-w', '%{http_version}',
      proxy.url('/sse-updates?topics=news:h')]);
    assert.equal(viaH2.out, '2', JSON.stringify(viaH2));
    await assert.rejects(openWs(proxy.wsUrl('/ws'), { rejectUnauthorized: false }), /403/);
    const sse = seen.find((s) => s.url.startsWith('/sse-updates'));
    const ws = seen.find((s) => s.url === '/ws');
    assert.ok(sse && ws, JSON.stringify(seen));
    for (const { headers } of [sse, ws]) {
      assert.equal(headers.host, `127.0.0.1:${proxy.port}`);
      assert.equal(headers['x-forwarded-proto'], 'https');
      assert.equal(headers['x-real-ip'], '127.0.0.1');
      assert.equal(headers['x-forwarded-for'], '127.0.0.1');
    }
    assert.equal(ws.headers.upgrade, 'websocket');
    assert.equal(ws.headers.connection, 'upgrade');
    assert.equal(sse.headers.connection, undefined, 'keepalive to the upstream');
  });

// The shipped files as an operator installs them, with nothing changed but where the snippet
// lives and which certificate it names: listen 80/443, the upstream and the roots as shipped
// (nginx -t parses and loads certificates; it binds no port).
function checkShipped(tlsText) {
  const dir = makeTempDir('rushcast-nginx-t-');
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const snippet = path.join(dir, 'rushcast-tls.conf');
  fs.writeFileSync(snippet, tlsText);
  const site = fs.readFileSync(NGINX_CONF, 'utf8');
  const include = new RegExp(`^(\\s*)include ${SHIPPED_TLS_INCLUDE.replaceAll('.', '\\.')};$`, 'm');
  assert.match(site, include);
  fs.writeFileSync(path.join(dir, 'site.conf'), site.replace(include, `$1include ${snippet};`));
  const user = process.getuid && process.getuid() === 0 ? 'user root;' : '';
  fs.writeFileSync(path.join(dir, 'nginx.conf'), `${user}
pid ${dir}/nginx.pid;
events {}
http {
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path ${dir}/cb;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    include ${dir}/site.conf;
}
`);
  return spawnSync(NGINX_BIN, ['-t', '-p', `${dir}/`, '-e', path.join(dir, 'error.log'),
    '-c', path.join(dir, 'nginx.conf')], { encoding: 'utf8', timeout: 10000 });
}

test('nginx -t passes on the shipped site with only the certificate paths changed',
  { timeout: 20000 }, () => {
    const dir = makeTempDir('rushcast-cert-');
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const tls = rewriteTlsConf(fs.readFileSync(NGINX_TLS_CONF, 'utf8'), makeTestCertificate(dir));
    const r = checkShipped(tls);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /test is successful/);
    // The certificate counts: one nginx cannot load is refused.
    const broken = checkShipped(tls.replace(/test-cert\.pem/, 'missing.pem'));
    assert.notEqual(broken.status, 0);
    assert.match(broken.stderr, /missing\.pem/);
  });

test('on a machine with Debian\'s snakeoil pair the shipped files pass nginx -t unchanged',
  { timeout: 20000 }, (t) => {
    if (!fs.existsSync('/etc/ssl/certs/ssl-cert-snakeoil.pem') ||
        !fs.existsSync('/etc/ssl/private/ssl-cert-snakeoil.key')) {
      t.skip('no snakeoil pair here (ssl-cert: make-ssl-cert generate-default-snakeoil)');
      return;
    }
    const r = checkShipped(fs.readFileSync(NGINX_TLS_CONF, 'utf8'));
    assert.equal(r.status, 0, r.stderr);
  });
