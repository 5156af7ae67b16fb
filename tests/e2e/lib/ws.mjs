// Owns a WebSocket client for the e2e tests (the `ws` package): JSON messages queued as they
// arrive, next(type) to wait for one, and the close code. Used by ws/nginx/page tests.
import WebSocket from 'ws';

export class WsClient {
  constructor(url, options = {}) {
    this.url = url;
    this.messages = [];
    this.taken = 0;
    this.waiters = [];
    this.closeCode = undefined;
    this.closeReason = '';
    this.ws = new WebSocket(url, { handshakeTimeout: 5000, ...options });
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? data : data.toString('utf8');
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      this.messages.push({ text, json, at: Date.now() });
      this.wake();
    });
    this.ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString('utf8');
      this.wake();
    });
    this.ws.on('error', (e) => { this.error = e; this.wake(); });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve(this));
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (req, res) => {
        reject(new Error(`WebSocket upgrade refused: HTTP ${res.statusCode}`));
      });
    });
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  async until(check, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      if (this.closeCode !== undefined) {
        throw new Error(`WebSocket closed (${this.closeCode} ${this.closeReason}) while waiting for ${what}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms on ${this.url}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  // The next JSON message (after those already taken) with this `type` (any when omitted)
  // for which pred(msg) holds; resolves to the parsed object.
  next(type, timeoutMs = 5000, pred = () => true) {
    return this.until(() => {
      for (let i = this.taken; i < this.messages.length; i++) {
        const m = this.messages[i].json;
        if (m && (!type || m.type === type) && pred(m)) {
          this.taken = i + 1;
          return m;
        }
      }
      return undefined;
    }, timeoutMs, `message ${type || '(any)'}`);
  }

  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }

  // Sends a request with a fresh ref and waits for the reply carrying that ref.
  async request(obj, timeoutMs = 5000) {
    this.refs = (this.refs || 0) + 1;
    const ref = `r${this.refs}`;
    this.send({ ...obj, ref });
    return this.until(() => {
      const m = this.messages.find((x) => x.json && x.json.ref === ref);
      return m ? m.json : undefined;
    }, timeoutMs, `reply to ${obj.type} (ref ${ref})`);
  }

  // Resolves with the close code once the connection closed (by either side).
  waitClose(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      if (this.closeCode !== undefined) { resolve(this.closeCode); return; }
      const t = setTimeout(() => reject(new Error(`no close within ${timeoutMs} ms`)), timeoutMs);
      this.ws.once('close', (code) => { clearTimeout(t); resolve(code); });
    });
  }

  close(code = 1000) {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code);
    }
  }

  terminate() { this.ws.terminate(); }
}

export async function openWs(url, options = {}) {
  const c = new WsClient(url, options);
  await c.opened;
  return c;
}
