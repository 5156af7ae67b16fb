// Owns a real nginx for the e2e tests: deploy/nginx/rushcast.conf with the TLS snippet
// deploy/nginx/rushcast-tls.conf, rewritten only where a test must differ (upstream ports, listen
// addresses, page and ACME roots, the snippet's path, the certificate paths), in a temp prefix,
// foreground. tls: true serves the site as shipped, HTTPS with HTTP/2, with a certificate made
// for the test by openssl; by default the HTTPS server block listens without TLS, so that
// the plain-HTTP tests (nginx, dashboard, eventsource) exercise the same locations.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SOURCE_DIR, WEB_DIR, freePort, makeTempDir, trackChild, waitExit, waitForPort }
  from './daemon.mjs';

export const NGINX_BIN = process.env.NGINX_BIN || ['/usr/sbin/nginx', '/usr/bin/nginx']
  .find((p) => fs.existsSync(p)) || 'nginx';
export const NGINX_CONF = path.join(SOURCE_DIR, 'deploy', 'nginx', 'rushcast.conf');
export const NGINX_TLS_CONF = path.join(SOURCE_DIR, 'deploy', 'nginx', 'rushcast-tls.conf');
// The cluster's site config: rushcast.conf with an upstream of several nodes.
export const NGINX_CLUSTER_CONF = path.join(SOURCE_DIR, 'deploy', 'nginx', 'rushcast-cluster.conf');
// Where the site expects the snippet, and the roots it serves, as shipped.
export const SHIPPED_TLS_INCLUDE = '/etc/nginx/snippets/rushcast-tls.conf';
export const SHIPPED_WEB_ROOT = '/usr/share/rushcast/web';
export const SHIPPED_ACME_ROOT = '/var/www/letsencrypt';

// The shipped site config with the test's ports and paths. Everything else (buffering,
// timeouts, upgrade headers, redirects) stays exactly as shipped: that is what the tests check.
// listenPort: the HTTPS server block (plain HTTP unless tls); httpPort: the redirecting one.
// keepServerParams: each upstream server keeps the shipped line's parameters (max_fails,
// fail_timeout: how a cluster skips a dead node) instead of max_fails=0.
export function rewriteSiteConf(text, { upstreamPorts, listenPort, httpPort, tls = false,
  webDir = WEB_DIR, acmeDir = '/nonexistent', tlsInclude = SHIPPED_TLS_INCLUDE,
  keepServerParams = false }) {
  // Line by line: comments inside the upstream block hold braces and example directives.
  const lines = text.split('\n');
  let inUpstream = false;
  let replaced = false;
  const kept = [];
  for (const line of lines) {
    if (/^\s*upstream\s+rushcast\s*\{/.test(line)) inUpstream = true;
    else if (inUpstream && /^\s*\}/.test(line)) inUpstream = false;
    else if (inUpstream && /^\s*server\s+[^;]+;/.test(line)) {
      if (!replaced) {
        const params = keepServerParams
          ? line.trim().replace(/;$/, '').split(/\s+/).slice(2).join(' ') : 'max_fails=0';
        for (const p of upstreamPorts) kept.push(`    server 127.0.0.1:${p} ${params};`);
        replaced = true;
      }
      continue;
    }
    kept.push(line);
  }
  if (!replaced) throw new Error(`no "upstream rushcast { server ...; }" in ${NGINX_CONF}`);
  let out = kept.join('\n');
  // Listen lines keep their parameters; the address becomes 127.0.0.1 and the test's port (the
  // ones with `ssl` get listenPort, the others httpPort). IPv6 ones are dropped.
  const seen = new Set();
  out = out.replace(/^(\s*)listen\s+([^;]+);/gm, (_, indent, spec) => {
    const [address, ...params] = spec.trim().split(/\s+/);
    if (address.startsWith('[')) return `${indent}# (IPv6 listen removed by the e2e harness)`;
    const secure = params.includes('ssl');
    const role = secure ? 'https' : 'http';
    if (seen.has(role)) throw new Error(`two IPv4 ${role} listen lines in ${NGINX_CONF}`);
    seen.add(role);
    const port = secure ? listenPort : httpPort;
    const kept = secure && !tls ? params.filter((p) => p !== 'ssl' && p !== 'http2') : params;
    return `${indent}listen ${['127.0.0.1:' + port, ...kept].join(' ')};`;
  });
  if (!seen.has('https') || !seen.has('http')) {
    throw new Error(`expected one "listen ... ssl" and one plain listen in ${NGINX_CONF}`);
  }
  const roots = { [SHIPPED_WEB_ROOT]: webDir, [SHIPPED_ACME_ROOT]: acmeDir };
  out = out.replace(/^(\s*)root\s+([^;]+);/gm, (_, indent, dir) => {
    if (!(dir in roots)) throw new Error(`unexpected root ${dir} in ${NGINX_CONF}`);
    return `${indent}root ${roots[dir]};`;
  });
  out = out.replace(/^(\s*)include\s+([^;]+);/gm, (_, indent, file) => {
    if (file !== SHIPPED_TLS_INCLUDE) throw new Error(`unexpected include ${file}`);
    return `${indent}include ${tlsInclude};`;
  });
  return out;
}

// The shipped TLS snippet with the test's certificate and key: the only change.
export function rewriteTlsConf(text, { certFile, keyFile }) {
  let certs = 0;
  let keys = 0;
  const out = text
    .replace(/^(\s*)ssl_certificate\s+[^;]+;/gm, (_, indent) => {
      certs += 1;
      return `${indent}ssl_certificate ${certFile};`;
    })
    .replace(/^(\s*)ssl_certificate_key\s+[^;]+;/gm, (_, indent) => {
      keys += 1;
      return `${indent}ssl_certificate_key ${keyFile};`;
    });
  if (certs !== 1 || keys !== 1) {
    throw new Error(`expected one ssl_certificate and one ssl_certificate_key in ${NGINX_TLS_CONF}`);
  }
  return out;
}

// A self-signed certificate for 127.0.0.1 and localhost, RSA like Debian's snakeoil pair.
export function makeTestCertificate(dir) {
  const certFile = path.join(dir, 'test-cert.pem');
  const keyFile = path.join(dir, 'test-key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile], { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return { certFile, keyFile };
}

export class Nginx {
  // upstreamPorts: the daemon ports behind the `rushcast` upstream. tls: serve HTTPS with
  // HTTP/2 as shipped (url() is https://). port: the HTTPS block's port; httpPort: the
  // redirecting plain-HTTP block's. acmeDir: what /.well-known/acme-challenge/ serves.
  constructor({ upstreamPorts, port = 0, httpPort = 0, tls = false, webDir = WEB_DIR,
    confFile = NGINX_CONF, tlsConfFile = NGINX_TLS_CONF, acmeDir = undefined,
    keepServerParams = false }) {
    this.keepServerParams = keepServerParams;
    this.dir = makeTempDir('rushcast-nginx-');
    this.upstreamPorts = upstreamPorts;
    this.fixedPort = port;
    this.fixedHttpPort = httpPort;
    this.tls = tls;
    this.webDir = webDir;
    this.acmeDir = acmeDir || path.join(this.dir, 'acme');
    this.confFile = confFile;
    this.tlsConfFile = tlsConfFile;
    this.child = null;
    this.port = 0;
    this.httpPort = 0;
  }

  get origin() { return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`; }
  url(p = '/') { return this.origin + p; }
  wsUrl(p = '/ws') { return `${this.tls ? 'wss' : 'ws'}://127.0.0.1:${this.port}${p}`; }
  // The plain-HTTP server block (redirects to HTTPS, ACME challenges).
  httpUrl(p = '/') { return `http://127.0.0.1:${this.httpPort}${p}`; }
  get running() { return this.child !== null && this.child.exitCode === null &&
    this.child.signalCode === null; }
  errorLog() {
    const f = path.join(this.dir, 'error.log');
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  }

  writeConfig() {
    const d = this.dir;
    if (!this.cert) this.cert = makeTestCertificate(d);
    this.tlsInclude = path.join(d, 'rushcast-tls.conf');
    fs.writeFileSync(this.tlsInclude, rewriteTlsConf(fs.readFileSync(this.tlsConfFile, 'utf8'),
      this.cert));
    fs.mkdirSync(this.acmeDir, { recursive: true });
    const site = rewriteSiteConf(fs.readFileSync(this.confFile, 'utf8'), {
      upstreamPorts: this.upstreamPorts, listenPort: this.port, httpPort: this.httpPort,
      tls: this.tls, webDir: this.webDir, acmeDir: this.acmeDir, tlsInclude: this.tlsInclude,
      keepServerParams: this.keepServerParams });
    // As root the workers would switch to "nobody", who may not read the source tree.
    const user = process.getuid && process.getuid() === 0 ? 'user root;' : '';
    const main = `# Generated by tests/e2e/lib/nginx.mjs around ${this.confFile}
${user}
daemon off;
master_process on;
worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/error.log info;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log ${d}/access.log;
    client_body_temp_path ${d}/client_body;
    proxy_temp_path ${d}/proxy;
    fastcgi_temp_path ${d}/fastcgi;
    uwsgi_temp_path ${d}/uwsgi;
    scgi_temp_path ${d}/scgi;
    # As in Debian's default nginx.conf, so that the site's "gzip off" is what counts.
    gzip on;
${site}
}
`;
    this.mainConf = path.join(d, 'nginx.conf');
    fs.writeFileSync(this.mainConf, main);
  }

  // `nginx -t` on the generated config; throws with nginx's message when it is refused.
  check() {
    const r = spawnSync(NGINX_BIN, ['-t', '-p', this.dir + '/', '-e', path.join(this.dir,
      'error.log'), '-c', this.mainConf], { encoding: 'utf8', timeout: 10000 });
    if (r.status !== 0) throw new Error(`nginx -t failed:\n${r.stderr}${r.stdout}`);
    return r.stderr;
  }

  async start(timeoutMs = 10000) {
    if (!this.port) this.port = this.fixedPort || await freePort();
    while (!this.httpPort || this.httpPort === this.port) {
      this.httpPort = this.fixedHttpPort || await freePort();
    }
    this.writeConfig();
    this.check();
    const out = fs.openSync(path.join(this.dir, 'stderr.log'), 'a');
    const args = ['-p', this.dir + '/', '-e', path.join(this.dir, 'error.log'),
      '-c', this.mainConf];
    this.child = trackChild(spawn(NGINX_BIN, args, { stdio: ['ignore', out, out] }), 'SIGTERM');
    fs.closeSync(out);
    try {
      await waitForPort(this.port, timeoutMs, () => this.running);
    } catch (e) {
      throw new Error(`${e.message}\n${this.errorLog()}`);
    }
    return this;
  }

  // Points the upstream at other daemon ports and reloads (SIGHUP) without dropping clients.
  async setUpstreams(ports) {
    this.upstreamPorts = ports;
    this.writeConfig();
    this.check();
    this.child.kill('SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 300));
  }

  // Fast shutdown (SIGTERM): open SSE streams would hold a graceful (SIGQUIT) one forever.
  async stop(timeoutMs = 10000) {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    await waitExit(this.child, timeoutMs);
  }

  async cleanup() {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startNginx(options) {
  const n = new Nginx(options);
  await n.start();
  return n;
}
