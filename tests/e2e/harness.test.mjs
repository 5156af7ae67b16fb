// The e2e helpers themselves, without the daemon: the SSE parser, the config merge, and the
// nginx rewrite (which must change only ports and paths of deploy/nginx/rushcast.conf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { deepMerge } from './lib/daemon.mjs';
import { NGINX_CONF, NGINX_TLS_CONF, Nginx, rewriteSiteConf, rewriteTlsConf }
  from './lib/nginx.mjs';
import { SseParser } from './lib/sse.mjs';

test('SseParser splits events, comments, retry and multi-line data across chunks', () => {
  const events = [];
  const comments = [];
  let retry;
  const p = new SseParser((e) => events.push(e), (c) => comments.push(c), (r) => { retry = r; });
  for (const chunk of ['retry: 3000\n\n: ping\n', 'id: 7\nevent: stock\ndata: {"st', 'ock":5}\n',
    '\r\n', 'data: a\r\ndata: b\r\n\r\n', 'event: x\n']) p.push(chunk);
  assert.equal(retry, 3000);
  assert.deepEqual(comments, ['ping']);
  assert.equal(events.length, 2, 'the last block is not complete');
  assert.deepEqual([events[0].id, events[0].event, events[0].json], ['7', 'stock', { stock: 5 }]);
  assert.deepEqual([events[1].event, events[1].data], ['message', 'a\nb']);
});

test('deepMerge is a JSON merge patch', () => {
  const base = { a: 1, log: { level: 'info', file: 'x' }, sales: [{ id: 'demo' }], gone: true };
  const out = deepMerge(base, { log: { level: 'warn' }, sales: [], gone: null, b: { c: 2 } });
  assert.deepEqual(out, { a: 1, log: { level: 'warn', file: 'x' }, sales: [], b: { c: 2 } });
  assert.deepEqual(base.log, { level: 'info', file: 'x' }, 'the base is not modified');
});

// Meaningful lines, without the ones the harness may rewrite.
const directives = (text, rewritable) => text.split('\n').map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#') && !rewritable.test(l));

test('the nginx rewrite changes only upstream servers, listen addresses, roots and the snippet path',
  () => {
    const original = fs.readFileSync(NGINX_CONF, 'utf8');
    const opts = { upstreamPorts: [1111, 2222], listenPort: 3333, httpPort: 4444,
      webDir: '/srv/web', acmeDir: '/srv/acme', tlsInclude: '/srv/tls.conf' };
    const out = rewriteSiteConf(original, { ...opts, tls: true });
    assert.match(out, /upstream rushcast \{[\s\S]*server 127\.0\.0\.1:1111 max_fails=0;\n    server 127\.0\.0\.1:2222 max_fails=0;/);
    assert.doesNotMatch(out, /127\.0\.0\.1:8080/);
    assert.deepEqual(out.match(/^\s*listen\s.*$/gm).map((l) => l.trim()),
      ['listen 127.0.0.1:4444;', 'listen 127.0.0.1:3333 ssl http2;']);
    assert.match(out, /^\s*root \/srv\/web;$/m);
    assert.match(out, /^\s*root \/srv\/acme;$/m);
    assert.match(out, /^\s*include \/srv\/tls\.conf;$/m);
    const rewritable = /^(listen|root|server|include) /;
    assert.deepEqual(directives(out, rewritable), directives(original, rewritable));
    for (const d of ['proxy_buffering off;', 'proxy_cache off;', 'proxy_read_timeout 1h;',
      'proxy_http_version 1.1;', 'proxy_set_header Connection "";',
      'proxy_set_header Upgrade $http_upgrade;', 'keepalive 64;']) {
      assert.ok(out.includes(d), d);
    }
    // Without tls the HTTPS block listens in plain HTTP; nothing else differs.
    const plain = rewriteSiteConf(original, opts);
    assert.deepEqual(plain.match(/^\s*listen\s.*$/gm).map((l) => l.trim()),
      ['listen 127.0.0.1:4444;', 'listen 127.0.0.1:3333;']);
    assert.deepEqual(directives(plain, rewritable), directives(original, rewritable));
  });

test('the TLS snippet rewrite changes only the certificate and key paths', () => {
  const original = fs.readFileSync(NGINX_TLS_CONF, 'utf8');
  const out = rewriteTlsConf(original, { certFile: '/t/c.pem', keyFile: '/t/k.pem' });
  assert.match(out, /^ssl_certificate \/t\/c\.pem;$/m);
  assert.match(out, /^ssl_certificate_key \/t\/k\.pem;$/m);
  const rewritable = /^ssl_certificate(_key)? /;
  assert.deepEqual(directives(out, rewritable), directives(original, rewritable));
  assert.equal(directives(original, /^$/).filter((l) => rewritable.test(l)).length, 2);
});

test('nginx -t accepts the shipped site config', { timeout: 20000 }, () => {
  for (const tls of [true, false]) {
    const n = new Nginx({ upstreamPorts: [8080], tls });
    n.port = 18443;
    n.httpPort = 18080;
    n.writeConfig();
    assert.match(n.check(), /syntax is ok/);
    fs.rmSync(n.dir, { recursive: true, force: true });
  }
});
