// Owns the e2e tests' use of the real curl binary: `curl -N` SSE streams parsed as they
// arrive, and one-shot requests with the status code. Used by curl.test.mjs and nginx.test.mjs.
import { spawn } from 'node:child_process';
import { trackChild, waitExit } from './daemon.mjs';
import { SseCollector } from './sse.mjs';

// `curl -sN -i URL`: status line and headers first, then the event stream unbuffered.
export class CurlSse extends SseCollector {
  constructor(url, extraArgs = [], maxTimeS = 60) {
    super(url);
    this.status = 0;
    this.headers = {};
    this.raw = '';
    this.firstByteAt = 0;
    let head = '';
    let inBody = false;
    this.child = trackChild(spawn('curl', ['-sS', '-N', '-i', '--max-time', String(maxTimeS),
      ...extraArgs, url], { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.stderr = '';
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk) => {
      if (!this.firstByteAt) this.firstByteAt = Date.now();
      this.raw += chunk;
      if (inBody) { this.feed(chunk); return; }
      head += chunk;
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      inBody = true;
      const lines = head.slice(0, end).split('\r\n');
      this.status = Number.parseInt(lines[0].split(' ')[1], 10);
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) this.headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      this.wake();
      this.feed(head.slice(end + 4));
    });
    this.child.on('exit', () => this.finish());
    this.startedAt = Date.now();
  }

  // Resolves once the status line and headers arrived.
  head(timeoutMs = 5000) {
    return this.until(() => (this.status ? this : undefined), timeoutMs, 'response head');
  }

  async close() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await waitExit(this.child, 5000);
    this.finish();
  }
}

export async function curlSse(url, extraArgs = [], maxTimeS = 60) {
  const c = new CurlSse(url, extraArgs, maxTimeS);
  await c.head();
  return c;
}

// One request: resolves to {status, body}. args are extra curl flags (-X, -H, -d ...).
export function curl(url, args = [], maxTimeS = 15) {
  return new Promise((resolve, reject) => {
    const child = trackChild(spawn('curl', ['-sS', '--max-time', String(maxTimeS),
      '-w', '\n%{http_code}', ...args, url], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('exit', (code) => {
      const nl = out.lastIndexOf('\n');
      const status = Number.parseInt(out.slice(nl + 1), 10);
      const body = out.slice(0, nl);
      let json = null;
      try { json = JSON.parse(body); } catch { /* not JSON */ }
      if (code !== 0 && !status) reject(new Error(`curl exited ${code}: ${err}`));
      else resolve({ status, body, json, exitCode: code });
    });
  });
}
