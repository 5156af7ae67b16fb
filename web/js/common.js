// rushcast page helpers shared by seckill.html and auction.html: the server-clock offset
// (GET /time), countdown formatting, and EventSource/WebSocket wrappers that reconnect.
// Plain browser JavaScript, no build step: everything hangs off window.rushcast.
(function () {
  'use strict';

  // Server time = Date.now() + offset. The offset comes from GET /time, halving the round
  // trip; the sample with the shortest round trip wins because it is the least skewed.
  const clock = {
    offset: 0,
    rtt: Infinity,
    synced: false,
    now() { return Date.now() + this.offset; },
    async sync(samples = 3) {
      for (let i = 0; i < samples; i++) {
        const t0 = Date.now();
        try {
          const r = await fetch('time', { cache: 'no-store' });
          const j = await r.json();
          const t1 = Date.now();
          const rtt = t1 - t0;
          if (typeof j.serverTime === 'number' && rtt <= this.rtt) {
            this.rtt = rtt;
            this.offset = j.serverTime - Math.round((t0 + t1) / 2);
            this.synced = true;
          }
        } catch (e) { /* offline: keep the last offset */ }
      }
      return this.offset;
    },
    // Resyncs now and every intervalMs (the browser clock drifts, laptops sleep).
    keepSynced(intervalMs = 60000) {
      const run = () => { this.rtt = Infinity; return this.sync(); };
      setInterval(run, intervalMs);
      return run();
    },
  };

  const pad = (n, w = 2) => String(n).padStart(w, '0');

  // 93784000 -> "1d 02:03:04"; 3723000 -> "01:02:03"; 59000 -> "00:59"; negative -> "00:00".
  function formatCountdown(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const d = Math.floor(total / 86400);
    const h = Math.floor((total % 86400) / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    if (d > 0) return `${d}d ${pad(h)}:${pad(m)}:${pad(s)}`;
    if (h > 0) return `${pad(h)}:${pad(m)}:${pad(s)}`;
    return `${pad(m)}:${pad(s)}`;
  }

  // An EventSource that comes back after the browser gives up (readyState CLOSED, e.g. a
  // 503 or a restart), with capped exponential backoff. handlers: {eventName: fn(data, ev)}.
  // onState('open'|'reconnecting'|'closed'). Returns {close(), source()}.
  function eventStream(url, handlers, onState = () => {}) {
    let es = null;
    let closed = false;
    let delay = 500;
    let timer = null;
    const open = () => {
      es = new EventSource(url);
      es.onopen = () => { delay = 500; onState('open'); };
      es.onerror = () => {
        if (closed) return;
        if (es.readyState === EventSource.CLOSED) {
          onState('reconnecting');
          timer = setTimeout(open, delay);
          delay = Math.min(delay * 2, 15000);
        } else {
          onState('reconnecting');  // the browser retries by itself after "retry:"
        }
      };
      for (const [name, fn] of Object.entries(handlers)) {
        es.addEventListener(name, (ev) => {
          let data = null;
          try { data = JSON.parse(ev.data); } catch (e) { return; }
          fn(data, ev);
        });
      }
    };
    open();
    return {
      close() { closed = true; clearTimeout(timer); if (es) es.close(); onState('closed'); },
      source() { return es; },
    };
  }

  // A WebSocket that reconnects with backoff and re-sends onOpen's messages (subscriptions).
  // opts: {onOpen(ws), onMessage(obj), onState(state)}. send() queues while disconnected.
  function socket(path, opts = {}) {
    const url = new URL(path, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws = null;
    let closed = false;
    let delay = 500;
    let timer = null;
    const pending = [];
    const state = opts.onState || (() => {});
    const open = () => {
      ws = new WebSocket(url);
      ws.onopen = () => {
        delay = 500;
        state('open');
        if (opts.onOpen) opts.onOpen(api);
        while (pending.length && ws.readyState === WebSocket.OPEN) ws.send(pending.shift());
      };
      ws.onmessage = (ev) => {
        let msg = null;
        try { msg = JSON.parse(ev.data); } catch (e) { return; }
        if (opts.onMessage) opts.onMessage(msg);
      };
      ws.onclose = (ev) => {
        if (closed) return;
        // 4001/4003: the server refuses this client; retrying would not help.
        if (ev.code === 4001 || ev.code === 4003) { state('refused'); return; }
        state('reconnecting');
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 15000);
      };
    };
    const api = {
      send(obj) {
        const text = typeof obj === 'string' ? obj : JSON.stringify(obj);
        if (ws && ws.readyState === WebSocket.OPEN) ws.send(text); else pending.push(text);
      },
      close() { closed = true; clearTimeout(timer); if (ws) ws.close(1000); state('closed'); },
      raw() { return ws; },
    };
    open();
    return api;
  }

  function randomUserId(prefix = 'user') {
    const a = new Uint32Array(2);
    crypto.getRandomValues(a);
    return `${prefix}-${a[0].toString(36)}${a[1].toString(36)}`.slice(0, 32);
  }

  // A user id kept per browser (localStorage) unless ?userId= names one.
  function stickyUserId(key = 'rushcast.userId', prefix = 'user') {
    const q = new URLSearchParams(location.search).get('userId');
    if (q) return q;
    let id = null;
    try { id = localStorage.getItem(key); } catch (e) { /* storage disabled */ }
    if (!id) {
      id = randomUserId(prefix);
      try { localStorage.setItem(key, id); } catch (e) { /* ignore */ }
    }
    return id;
  }

  async function postJson(path, body) {
    const r = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    let j = {};
    try { j = await r.json(); } catch (e) { /* empty or not JSON */ }
    return { status: r.status, body: j, headers: r.headers };
  }

  async function getJson(path) {
    const r = await fetch(path, { cache: 'no-store' });
    let j = {};
    try { j = await r.json(); } catch (e) { /* ignore */ }
    return { status: r.status, body: j };
  }

  window.rushcast = {
    clock, formatCountdown, eventStream, socket, randomUserId, stickyUserId, postJson, getJson,
  };
})();
