// Owns a small raw Server-Sent Events client for the e2e tests: it keeps every field the
// server sent (retry, comments, ids) so tests can check the wire format itself.
// Used by curl/nginx/eventsource tests and the page tests when they need a side channel.
import http from 'node:http';

// Parses SSE text as it arrives. Blocks are separated by a blank line; `: x` lines are
// comments (heartbeats), `retry:` sets the reconnect delay.
export class SseParser {
  constructor(onEvent, onComment, onRetry) {
    this.buf = '';
    this.cur = { id: undefined, event: undefined, data: [] };
    this.onEvent = onEvent;
    this.onComment = onComment;
    this.onRetry = onRetry;
  }

  push(text) {
    this.buf += text;
    let nl;
    while ((nl = this.buf.search(/\r\n|\n|\r/)) >= 0) {
      const line = this.buf.slice(0, nl);
      const sep = this.buf.startsWith('\r\n', nl) ? 2 : 1;
      this.buf = this.buf.slice(nl + sep);
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      if (this.cur.data.length || this.cur.event !== undefined) {
        const data = this.cur.data.join('\n');
        let json = null;
        try { json = JSON.parse(data); } catch { /* not JSON */ }
        this.onEvent({ id: this.cur.id, event: this.cur.event || 'message', data, json,
          at: Date.now() });
      }
      this.cur = { id: undefined, event: undefined, data: [] };
      return;
    }
    if (line.startsWith(':')) { this.onComment(line.slice(1).trim(), Date.now()); return; }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.cur.data.push(value);
    else if (field === 'event') this.cur.event = value;
    else if (field === 'id') this.cur.id = value;
    else if (field === 'retry') this.onRetry(Number(value));
  }
}

// Collects what an SSE source sends: `events`, `comments` and `retry` fill in as the stream
// flows; next() waits for the next matching event not yet taken. Sources call feed()/finish().
export class SseCollector {
  constructor(label) {
    this.url = label;
    this.events = [];
    this.comments = [];
    this.retry = undefined;
    this.ended = false;
    this.taken = 0;
    this.waiters = [];
    this.parser = new SseParser(
      (ev) => { this.events.push(ev); this.wake(); },
      (text, at) => { this.comments.push({ text, at }); this.wake(); },
      (ms) => { this.retry = ms; this.wake(); });
  }

  feed(text) { this.parser.push(text); }
  finish() { this.ended = true; this.wake(); }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  // Resolves when check() returns a value other than undefined, or rejects after timeoutMs.
  async until(check, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      if (this.ended) throw new Error(`SSE stream ended while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms on ${this.url}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  // The next event (after those already taken) whose name is `event` (any when omitted)
  // and for which pred(ev) holds.
  next(event, timeoutMs = 5000, pred = () => true) {
    return this.until(() => {
      for (let i = this.taken; i < this.events.length; i++) {
        const ev = this.events[i];
        if ((!event || ev.event === event) && pred(ev)) {
          this.taken = i + 1;
          return ev;
        }
      }
      return undefined;
    }, timeoutMs, `event ${event || '(any)'}`);
  }

  // Resolves once the server ends the stream.
  waitEnd(timeoutMs = 10000) {
    return this.until(() => (this.ended ? true : undefined), timeoutMs, 'end of stream');
  }

  // Resolves with the first comment line (e.g. the ": ping" heartbeat) received after the
  // first `after` comments.
  nextComment(after, timeoutMs = 5000) {
    return this.until(() => this.comments[after], timeoutMs, `comment #${after + 1}`);
  }
}

// One SSE connection over node:http, with the response status and headers.
export class SseClient extends SseCollector {
  constructor(url, headers = {}) {
    super(url);
    this.status = 0;
    this.headers = {};
    this.body = '';
    this.opened = new Promise((resolve, reject) => {
      this.req = http.get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
        this.status = res.statusCode;
        this.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          if (this.status === 200) this.feed(chunk);
          else this.body += chunk;
        });
        res.on('end', () => this.finish());
        res.on('error', () => this.finish());
        resolve(this);
      });
      this.req.on('error', (e) => { this.finish(); reject(e); });
    });
  }

  close() {
    this.req.destroy();
    this.finish();
  }
}

// Opens an SSE stream and resolves once the response head arrived.
export async function openSse(url, headers = {}) {
  const c = new SseClient(url, headers);
  await c.opened;
  return c;
}
