// Owns the e2e tests' handle on the real rushcast daemon: a child process with its own temp dir,
// config (demo config deep-merged with overrides), data dir, log, port file, stop/kill/restart.
// Used by every tests/e2e/*.test.mjs, directly or through nginx.mjs.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const SOURCE_DIR = process.env.RUSHCAST_SOURCE_DIR
  ? path.resolve(process.env.RUSHCAST_SOURCE_DIR)
  : path.resolve(here, '../../..');

// CTest passes RUSHCAST_BIN; by hand, fall back to the usual build directories.
export const BIN = process.env.RUSHCAST_BIN ||
  ['build', 'build-deploy'].map((d) => path.join(SOURCE_DIR, d, 'rushcast'))
    .find((p) => fs.existsSync(p)) || path.join(SOURCE_DIR, 'build', 'rushcast');

export const WEB_DIR = path.join(SOURCE_DIR, 'web');
export const PUBLISH_KEY = 'e2e-publish-key';

// Every child this process started; killed on exit so that a failed assertion leaves nothing.
// exitSignal: SIGKILL for the daemon; SIGTERM for nginx, whose master must stop its workers.
const children = new Map();
process.on('exit', () => {
  for (const [child, signal] of children) {
    try { child.kill(signal); } catch { /* already gone */ }
  }
});
export function trackChild(child, exitSignal = 'SIGKILL') {
  children.set(child, exitSignal);
  child.once('exit', () => children.delete(child));
  return child;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function makeTempDir(prefix = 'rushcast-e2e-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// JSON merge patch (RFC 7386): objects merge, arrays and scalars replace, null deletes.
export function deepMerge(base, patch) {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = base !== null && typeof base === 'object' && !Array.isArray(base) ? { ...base } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = deepMerge(out[key], value);
  }
  return out;
}

// The documented demo config, or (while it does not exist yet) the smallest valid one.
export function demoConfig() {
  const file = path.join(SOURCE_DIR, 'config', 'rushcast.json');
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  return { listen: { address: '127.0.0.1', port: 8080 }, sales: [], auctions: [] };
}

// A port that was free a moment ago: for a daemon that must come back on the same port.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Resolves once something accepts on 127.0.0.1:port, rejects after timeoutMs.
export async function waitForPort(port, timeoutMs = 10000, isAlive = () => true) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`process died before port ${port} opened`);
    const ok = await new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => { sock.destroy(); resolve(true); });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

// Waits for the child's exit; SIGKILLs it after timeoutMs. Returns the exit code, or
// 128 + signal number when a signal ended it.
export function waitExit(child, timeoutMs) {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(128 + os.constants.signals[child.signalCode]);
  return new Promise((resolve) => {
    const timer = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } },
      timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code !== null ? code : 128 + os.constants.signals[signal]);
    });
  });
}

// What a sanitizer prints when it finds something (ASan, LSan, UBSan, TSan).
export const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer',
  'runtime error:', 'WARNING: ThreadSanitizer'];

// The first sanitizer report in a log, from the line it starts on; null when there is none.
export function sanitizerReport(text) {
  for (const marker of SANITIZER_MARKERS) {
    const at = text.indexOf(marker);
    if (at < 0) continue;
    const lineStart = text.lastIndexOf('\n', at) + 1;
    return text.slice(lineStart, lineStart + 8000);
  }
  return null;
}

function describeExit(child, code) {
  return child.signalCode ? `killed by ${child.signalCode}` : `exited with status ${code}`;
}

export class Daemon {
  // options.overrides: merged into the demo config. options.port: a fixed port kept across
  // restarts (default: 0, the kernel picks, and a restart gets a new one). options.dataDir:
  // reuse a data dir. options.args: extra flags. options.env: extra environment.
  constructor(options = {}) {
    this.dir = makeTempDir();
    this.dataDir = options.dataDir || path.join(this.dir, 'data');
    this.fixedPort = options.port || 0;
    this.extraArgs = options.args || [];
    this.env = options.env || {};
    this.config = deepMerge(deepMerge(demoConfig(), {
      listen: { address: '127.0.0.1', port: 0 },
      log: { level: 'info', file: '' },
      auth: { mode: 'off', publish_key: PUBLISH_KEY },
      static_dir: WEB_DIR,
    }), options.overrides || {});
    this.configFile = path.join(this.dir, 'config.json');
    fs.writeFileSync(this.configFile, JSON.stringify(this.config, null, 2));
    this.logFile = path.join(this.dir, 'daemon.log');
    this.portFile = path.join(this.dir, 'port');
    this.child = null;
    this.port = 0;
    // How each run ended when that was not how it was asked to end; cleanup() fails on them.
    this.problems = [];
    this.checked = new WeakSet();
  }

  // Records a run that did not end as asked: SIGTERM must give status 0, SIGKILL must be what
  // killed it (not a crash before it).
  checkExit(child, code, signalSent) {
    if (this.checked.has(child)) return;
    this.checked.add(child);
    if (signalSent === 'SIGKILL') {
      if (child.signalCode !== 'SIGKILL') {
        this.problems.push(`pid ${child.pid} ${describeExit(child, code)} before SIGKILL`);
      }
    } else if (child.signalCode === 'SIGKILL') {
      this.problems.push(`pid ${child.pid} did not exit after SIGTERM; killed with SIGKILL`);
    } else if (code !== 0) {
      this.problems.push(`pid ${child.pid} ${describeExit(child, code)} ` +
        '(a stop with SIGTERM must exit with status 0)');
    }
  }

  get pid() { return this.child ? this.child.pid : 0; }
  get running() { return this.child !== null && this.child.exitCode === null &&
    this.child.signalCode === null; }
  get origin() { return `http://127.0.0.1:${this.port}`; }
  url(p = '/') { return this.origin + p; }
  wsUrl(p = '/ws') { return `ws://127.0.0.1:${this.port}${p}`; }
  log() { return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : ''; }

  async start(timeoutMs = 30000) {
    if (this.running) throw new Error('daemon already running');
    fs.rmSync(this.portFile, { force: true });
    const out = fs.openSync(this.logFile, 'a');
    const args = ['--config', this.configFile,
      '--listen', `127.0.0.1:${this.fixedPort}`,
      '--port-file', this.portFile,
      '--data-dir', this.dataDir, '--static-dir', this.config.static_dir, ...this.extraArgs];
    const child = spawn(BIN, args, {
      stdio: ['ignore', out, out],
      env: { ...process.env, ...this.env },
    });
    fs.closeSync(out);
    this.child = trackChild(child);
    let spawnError = null;
    child.once('error', (e) => { spawnError = e; });

    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (spawnError) throw new Error(`cannot run ${BIN}: ${spawnError.message}`);
      if (!this.running) {
        throw new Error(`rushcast exited (${child.exitCode ?? child.signalCode}) at start-up:\n` +
          this.log());
      }
      const text = fs.existsSync(this.portFile) ? fs.readFileSync(this.portFile, 'utf8') : '';
      if (text.endsWith('\n') || /^\d+$/.test(text.trim())) {
        const port = Number.parseInt(text.trim(), 10);
        if (port > 0) {
          this.port = port;
          return this;
        }
      }
      await sleep(20);
    }
    child.kill('SIGKILL');
    await waitExit(child, 5000);
    throw new Error(`rushcast wrote no port file in ${timeoutMs} ms:\n${this.log()}`);
  }

  // SIGTERM (the contract's clean stop) and wait; SIGKILL after timeoutMs. Returns the code.
  // A status other than 0 (or a death by a signal) is also recorded for cleanup() to report.
  async stop(timeoutMs = 15000) {
    if (!this.child) return -1;
    const child = this.child;
    if (this.running) child.kill('SIGTERM');
    const code = await waitExit(child, timeoutMs);
    this.checkExit(child, code, 'SIGTERM');
    return code;
  }

  // A crash: SIGKILL, nothing flushed beyond what the store already made durable.
  async kill9() {
    if (!this.running) return;
    const child = this.child;
    child.kill('SIGKILL');
    const code = await waitExit(child, 10000);
    this.checkExit(child, code, 'SIGKILL');
  }

  signal(name) { if (this.running) this.child.kill(name); }

  // Same config and data dir; the same port when one was fixed, else a new one.
  async restart() {
    if (this.running) await this.stop();
    return this.start();
  }

  // fetch() against the daemon, JSON in and out.
  async request(method, p, body, headers = {}) {
    return jsonRequest(this.url(p), method, body, headers);
  }

  // POST /api/publish with the publish key; resolves to the reply ({status, json}).
  async publish(topic, data, event) {
    const body = { topic, data };
    if (event) body.event = event;
    return this.request('POST', '/api/publish', body, { Authorization: `Bearer ${PUBLISH_KEY}` });
  }

  // Stops the daemon and removes the temp dir (config, log, data unless an outside data dir
  // was given). Throws, keeping the dir, when a run did not end as asked (see stop(), kill9())
  // or the log holds a sanitizer report: a crash at shutdown fails the test that ran it.
  async cleanup() {
    await this.stop();
    const log = this.log();
    const report = sanitizerReport(log);
    if (this.problems.length || report) {
      const what = [...this.problems, ...(report ? [`sanitizer report:\n${report}`] : [])];
      throw new Error(`rushcast daemon (dir ${this.dir}): ${what.join('\n')}\n` +
        `--- daemon log (tail) ---\n${log.slice(-6000)}`);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function jsonRequest(url, method = 'GET', body = undefined, headers = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(10000) };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    if (!Object.keys(init.headers).some((h) => h.toLowerCase() === 'content-type')) {
      init.headers['Content-Type'] = 'application/json';
    }
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

// Starts a daemon and resolves once it took its port; on failure the error carries the log
// and the temp dir is removed.
export async function startDaemon(options = {}) {
  const d = new Daemon(options);
  try {
    await d.start();
  } catch (e) {
    // The start-up error says what went wrong; a kill after a failed start is no news.
    await d.cleanup().catch(() => fs.rmSync(d.dir, { recursive: true, force: true }));
    throw e;
  }
  return d;
}
