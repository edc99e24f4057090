// The managed queries (a QueryCard each) and the event stream that feeds them.
//
// The stream is read with fetch() rather than EventSource so that it can
// carry a bearer token and so that reconnecting (with backoff, and a fetch of
// what the window gained meanwhile) is ours to show.
import {api, askForToken, auth} from './api.js';
import {QueryCard} from './query_card.js';
import {$, hideBanner, showBanner} from './util.js';

const kBackoffMs = [1000, 2000, 4000, 8000, 15000, 30000];

export const board = {
  cards: new Map(),
  windowMs: 3600000,

  async load() {
    const {queries} = await api('/api/queries');
    const names = new Set(queries.map((q) => q.name));
    for (const name of [...this.cards.keys()]) if (!names.has(name)) this.remove(name);
    await Promise.all(queries.map((q) => this.upsert(q)));
    this.renderEmpty();
  },

  async upsert(q) {
    let card = this.cards.get(q.name);
    if (card) {
      card.update(q);
      return;
    }
    card = new QueryCard(q);
    this.cards.set(q.name, card);
    const list = $('queries');
    const after = [...this.cards.keys()].sort().indexOf(q.name);
    list.insertBefore(card.node, list.children[after] || null);
    this.renderEmpty();
    try {
      await Promise.all([card.loadWindow(), q.total ? null : card.loadTotal()]);
    } catch (e) {
      showBanner(`cannot read '${q.name}': ${e.message}`);
    }
  },

  remove(name) {
    const card = this.cards.get(name);
    if (!card) return;
    card.destroy();
    this.cards.delete(name);
    this.renderEmpty();
  },

  // After a lost stream: what each window gained while we were away.
  async catchUp() {
    await this.load();
    await Promise.all([...this.cards.values()].map(async (c) => {
      await c.loadWindow(c.lastTime());
      await c.loadTotal();
    }));
  },

  renderEmpty() { $('no-queries').hidden = this.cards.size > 0; },

  onEvent(type, data) {
    if (type === 'interval') {
      const card = this.cards.get(data.query);
      if (card) card.onInterval(data);
      else this.load().catch(() => {});  // installed elsewhere: pivot query --detach
    } else if (type === 'state') {
      if (data.state === 'stopped') return this.remove(data.query);
      const card = this.cards.get(data.query);
      if (card) card.update({state: data.state, error: data.error || null});
      else this.load().catch(() => {});
    }
  },
};

// ---- the event stream -------------------------------------------------------

export const stream = {
  controller: null,
  attempt: 0,
  timer: 0,

  setState(state, text) {
    const pill = $('stream-state');
    pill.dataset.state = state;
    pill.textContent = 'stream: ' + text;
  },

  restart() {
    if (this.controller) this.controller.abort();
    clearTimeout(this.timer);
    this.attempt = 0;
    this.connect();
  },

  async connect() {
    const controller = new AbortController();
    this.controller = controller;
    this.setState('connecting', this.attempt ? `reconnecting (try ${this.attempt + 1})` : 'connecting');
    let why = 'closed by serve';
    try {
      const res = await fetch('/api/stream', {headers: auth.headers(), signal: controller.signal});
      if (!res.ok) {
        let msg = `HTTP ${res.status}`;
        try { msg = (await res.json()).error.message; } catch { /* keep the status */ }
        if (res.status === 401) askForToken();
        throw new Error(msg);
      }
      this.setState('live', 'live');
      if (this.attempt > 0) {
        hideBanner('stream');
        board.catchUp().catch(() => {});
      }
      this.attempt = 0;
      await readEvents(res.body, (type, data) => board.onEvent(type, data));
    } catch (e) {
      if (controller.signal.aborted) return;
      why = e.message;
    }
    if (controller.signal.aborted) return;
    const delay = kBackoffMs[Math.min(this.attempt, kBackoffMs.length - 1)];
    this.attempt++;
    this.setState('lost', `lost, retry in ${Math.round(delay / 1000)}s`);
    showBanner(`the event stream was lost (${why}); reconnecting in ${Math.round(delay / 1000)} s — ` +
               'charts are paused until then', 'warn', 'stream');
    this.timer = setTimeout(() => this.connect(), delay);
  },
};

// Server-Sent Events from a fetch body: blocks separated by a blank line,
// `event:` and `data:` fields, `:` comments (serve's keep-alives).
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let type = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':') || !line) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const v = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') type = v;
        else if (field === 'data') data.push(v);
      }
      if (!data.length) continue;
      try {
        onEvent(type, JSON.parse(data.join('\n')));
      } catch (e) {
        console.error('bad event from serve', e, block);
      }
    }
  }
}
