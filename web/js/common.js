// rushcast page helpers shared by seckill.html, auction.html and dashboard.html: the server-clock
// offset (GET /time), time and money formatting, who the visitor is (docs/PAGES.md), the
// product card, and EventSource/WebSocket wrappers that reconnect.
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

  // The one duration format of every page: 93784000 -> "1d 02:03:04"; 3723000 -> "1:02:03";
  // 59000 -> "00:59"; negative -> "00:00".
  function formatCountdown(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const d = Math.floor(total / 86400);
    const h = Math.floor((total % 86400) / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    if (d > 0) return `${d}d ${pad(h)}:${pad(m)}:${pad(s)}`;
    if (h > 0) return `${h}:${pad(m)}:${pad(s)}`;
    return `${pad(m)}:${pad(s)}`;
  }

  // The one clock-time format of every page: local time, 24 hours, "14:03:07".
  const clockFormat = new Intl.DateTimeFormat(undefined,
    { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  const formatClock = (ms) => clockFormat.format(new Date(ms));

  // Amounts are integers in the currency's smallest unit, as in the config (docs/CONFIG.md).
  // With an ISO 4217 currency they show as money, 10000 EUR -> "€100.00" (JPY has no minor unit:
  // 10000 -> "¥10,000"); without, as a grouped number, "10,000". Returns a function of the
  // amount ('–' for none) whose .scale converts: major = amount / scale.
  function amountFormat(currency) {
    let f = null;
    if (currency) {
      try { f = new Intl.NumberFormat(undefined, { style: 'currency', currency }); } catch (e) { f = null; }
    }
    const scale = f ? 10 ** f.resolvedOptions().maximumFractionDigits : 1;
    if (!f) f = new Intl.NumberFormat(undefined);
    const format = (n) => (n === null || n === undefined || Number.isNaN(Number(n)) ? '–'
      : f.format(Number(n) / scale));
    format.scale = scale;
    return format;
  }

  // Who the visitor is (docs/PAGES.md). With auth.mode jwt the token comes from the shop's
  // login: the cookie rushcast_token (sent by the browser itself, HttpOnly is fine), or the
  // login hook "#token=JWT" on the page URL, kept for this tab in sessionStorage and sent as
  // token= / Authorization: Bearer. The server says which mode it runs and whose token it
  // accepted in the info reply ("auth", "viewer"); the page never decodes a token itself.
  const TOKEN_KEY = 'rushcast.token';
  function hookToken() {
    const h = new URLSearchParams(location.hash.slice(1));
    const t = h.get('token');
    if (t) {
      try { sessionStorage.setItem(TOKEN_KEY, t); } catch (e) { /* storage disabled */ }
      h.delete('token');
      const rest = h.toString();
      history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
      return t;
    }
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }
  const token = hookToken();
  // Adds token= to a stream URL when the login hook gave one (a cookie needs nothing).
  function withToken(url) {
    if (!token) return url;
    return url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token);
  }
  const authHeaders = () => (token ? { Authorization: `Bearer ${token}` } : {});

  // Fills the product card (#product: .name, img, .description, .list-price) from an info reply.
  function showProduct(info, money) {
    const card = document.getElementById('product');
    if (!card) return;
    const img = card.querySelector('img');
    if (info.image) {
      img.src = info.image;
      img.alt = info.name || '';
      img.hidden = false;
      card.classList.remove('no-image');
    } else {
      img.hidden = true;
      card.classList.add('no-image');
    }
    const d = card.querySelector('.description');
    d.textContent = info.description || '';
    d.hidden = !info.description;
    const p = card.querySelector('.list-price');
    if (p) {
      p.textContent = typeof info.price === 'number' ? money(info.price) : '';
      p.hidden = typeof info.price !== 'number';
    }
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
        if (ev.code === 4001 || ev.code === 4003) { state('refused', ev.code); return; }
        state('reconnecting', ev.code);
        // Jitter, so that a restarted server is not hit by every page at the same moment.
        timer = setTimeout(open, delay + Math.random() * delay);
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
      headers: { 'Content-Type': 'application/json', ...authHeaders() },
      body: JSON.stringify(body),
    });
    let j = {};
    try { j = await r.json(); } catch (e) { /* empty or not JSON */ }
    return { status: r.status, body: j, headers: r.headers };
  }

  async function getJson(path) {
    const r = await fetch(path, { cache: 'no-store', headers: authHeaders() });
    let j = {};
    try { j = await r.json(); } catch (e) { /* ignore */ }
    return { status: r.status, body: j };
  }

  // With auth.mode jwt the user is whoever the server says the token belongs to: the page drops
  // its demo box (#user-box), says who is signed in in #identity, and gets that user ('' when
  // signed out). With auth off it gets null and keeps the demo box.
  function signedInUser(info, action) {
    if (info.auth !== 'jwt') return null;
    document.getElementById('user-box').remove();
    const p = document.getElementById('identity');
    p.hidden = false;
    const user = info.viewer || '';
    if (user) {
      p.textContent = 'Signed in as ';
      const b = document.createElement('b');
      b.textContent = user;
      p.append(b);
    } else {
      p.textContent = `You are not signed in: sign in to the shop to ${action}.`;
    }
    return user;
  }

  window.rushcast = {
    clock, formatCountdown, formatClock, amountFormat, withToken, showProduct, eventStream, socket,
    randomUserId, stickyUserId, signedInUser, postJson, getJson,
  };
})();
