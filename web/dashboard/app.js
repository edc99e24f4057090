// The dashboard of `pivot serve` (docs/serve.md): agents, tracepoints and
// health from the JSON API, polled; a query editor that explains as one
// types and marks an error at its line and column; and for each managed
// query a chart of its groups per interval and a table of its total, from
// the query's window and then the event stream.
//
// The stream is read with fetch() rather than EventSource so that it can
// carry a bearer token and so that reconnecting (with backoff, and a fetch of
// what the window gained meanwhile) is ours to show.
'use strict';

const kPollMs = 2000;            // serve rediscovers agents every 2 s
const kTracepointPollMs = 10000;
const kExplainDelayMs = 350;
const kMaxChartedGroups = 12;    // the largest groups by total; the table has all
const kMaxTableRows = 500;
const kBackoffMs = [1000, 2000, 4000, 8000, 15000, 30000];
const kPalette = ['#4fc3f7', '#ffb74d', '#81c784', '#f06292', '#ba68c8', '#fff176',
                  '#4db6ac', '#e57373', '#9575cd', '#aed581', '#90a4ae', '#ff8a65'];

const $ = (id) => document.getElementById(id);

// ---- HTTP -----------------------------------------------------------------

const auth = {
  token: sessionStorage.getItem('pivot-token') || '',
  headers() { return this.token ? {Authorization: 'Bearer ' + this.token} : {}; },
};

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.line = e.line || 0;
    this.column = e.column || 0;
  }
}

async function api(path, {method = 'GET', body} = {}) {
  const init = {method, headers: auth.headers()};
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, {error: {message: 'serve is unreachable: ' + e.message}});
  }
  let json = null;
  try { json = await res.json(); } catch { /* not JSON: the status says enough */ }
  if (res.status === 401) askForToken();
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

function askForToken() {
  const button = $('token-button');
  button.hidden = false;
  showBanner('serve wants a bearer token for this (401): press "token…"', 'warn');
}

$('token-button').addEventListener('click', () => {
  const t = prompt('Bearer token for pivot serve (kept in this tab only):', auth.token);
  if (t === null) return;
  auth.token = t.trim();
  sessionStorage.setItem('pivot-token', auth.token);
  hideBanner();
  stream.restart();
});

// ---- small DOM helpers ------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

const numberFormat = new Intl.NumberFormat('en-US', {maximumFractionDigits: 3});
function formatValue(v) {
  if (v === null || v === undefined) return '∅';
  if (typeof v === 'number') return numberFormat.format(v);
  return String(v);
}
function formatTime(ms) {
  return new Date(ms).toLocaleTimeString('en-GB', {hour12: false});
}

let bannerOwner = '';
function showBanner(text, kind = 'error', owner = '') {
  const b = $('banner');
  b.textContent = text;
  b.dataset.kind = kind;
  b.hidden = false;
  bannerOwner = owner;
}
function hideBanner(owner = '') {
  if (owner && owner !== bannerOwner) return;
  $('banner').hidden = true;
}

// ---- health, agents, tracepoints ------------------------------------------

async function pollStatus() {
  try {
    const [status, agents] = await Promise.all([api('/api/status'), api('/api/agents')]);
    renderStatus(status);
    renderAgents(agents);
    hideBanner('poll');
  } catch (e) {
    showBanner(`cannot read serve's status: ${e.message}`, 'error', 'poll');
  }
}

function renderStatus(s) {
  $('serve-where').textContent = `${s.listen} · ${s.transport} · up since ${formatTime(s.started)}`;
  const counters = [
    ['agents', s.agents], ['queries', s.queries], ['streams', s.stream_clients],
    ['unauthorized', s.unauthorized], ['token', s.token ? 'required' : 'none'],
  ];
  const dl = $('health');
  dl.replaceChildren();
  for (const [k, v] of counters) {
    const dd = el('dd', {text: formatValue(v)});
    if (k === 'unauthorized' && v > 0) dd.className = 'bad';
    if (k === 'agents' && v === 0) dd.className = 'bad';
    dl.append(el('div', {}, el('dt', {text: k}), dd));
  }
  if (s.state_error) dl.append(el('div', {class: 'wide'}, el('dt', {text: 'state file'}),
                                  el('dd', {class: 'bad', text: s.state_error})));
  const body = $('limits');
  body.replaceChildren();
  for (const [name, l] of Object.entries(s.limits || {})) {
    const hits = l.hits === undefined ? '' : formatValue(l.hits);
    const tr = el('tr', {}, el('td', {text: name}), el('td', {text: formatValue(l.value)}),
                  el('td', {text: hits}));
    if (l.hits > 0) tr.className = 'hit';
    body.append(tr);
  }
}

function renderAgents(a) {
  const body = $('agents');
  body.replaceChildren();
  const agents = [...a.agents].sort((x, y) =>
    x.procName.localeCompare(y.procName) || x.host.localeCompare(y.host));
  for (const g of agents) {
    const tr = el('tr', {'data-key': g.key},
      el('td', {text: g.procName}), el('td', {text: g.host}), el('td', {text: String(g.pid)}),
      el('td', {text: String(g.tracepoints)}), el('td', {class: 'queries', text: String(g.queries)}));
    if (g.queries > 0) tr.classList.add('active');
    body.append(tr);
  }
  $('agents-count').textContent = String(agents.length);
  $('agents-notes').textContent = (a.notes || []).join('\n');
}

let tracepoints = [];
async function pollTracepoints() {
  try {
    tracepoints = (await api('/api/tracepoints')).tracepoints;
    renderTracepoints();
  } catch { /* the status poll reports serve's absence */ }
}

function renderTracepoints() {
  const filter = $('tracepoint-filter').value.trim().toLowerCase();
  const list = $('tracepoints');
  list.replaceChildren();
  const shown = tracepoints.filter((t) => !filter || t.name.toLowerCase().includes(filter));
  for (const t of shown) {
    const exports = el('div', {class: 'exports'});
    for (const x of t.exports) {
      exports.append(el('span', {class: 'chip', title: x.type + (x.list ? ' list' : ''),
                                 text: x.name}));
    }
    const name = el('button', {class: 'tp-name', title: 'insert into the query', text: t.name});
    name.addEventListener('click', () => insertIntoEditor(t.name));
    list.append(el('li', {}, name, exports,
                   el('div', {class: 'procs', text: t.processes.join(', ')})));
  }
  $('tracepoints-count').textContent = String(tracepoints.length);
}
$('tracepoint-filter').addEventListener('input', renderTracepoints);

// ---- the query editor -------------------------------------------------------

const editor = {
  text: $('query-text'),
  backdrop: $('editor-backdrop'),
  gutter: $('editor-gutter'),
  error: null,       // {line, column, message} of the current text, or null
  timer: 0,
  seq: 0,
};

function insertIntoEditor(s) {
  const t = editor.text;
  t.setRangeText(s, t.selectionStart, t.selectionEnd, 'end');
  t.focus();
  onEditorInput();
}

// The offset in `text` of 1-based line and column (clamped to the text).
function offsetOf(text, line, column) {
  const lines = text.split('\n');
  let off = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) off += lines[i].length + 1;
  const here = lines[Math.min(line, lines.length) - 1] || '';
  return Math.min(off + Math.max(0, Math.min(column - 1, here.length)), text.length);
}

function renderEditorDecorations() {
  const text = editor.text.value;
  const lines = text.split('\n');
  editor.gutter.textContent = lines.map((_, i) => i + 1).join('\n');
  const e = editor.error;
  editor.backdrop.replaceChildren();
  if (!e || e.line < 1) {
    editor.backdrop.append(text + '\n');
  } else {
    const at = offsetOf(text, e.line, e.column);
    const mark = el('mark', {id: 'error-mark', 'data-line': String(e.line),
                             'data-column': String(e.column)});
    // Past the end of the text the mark is a visible block, not a character.
    mark.textContent = at < text.length && text[at] !== '\n' ? text[at] : ' ';
    const rest = at < text.length && text[at] !== '\n' ? text.slice(at + 1) : text.slice(at);
    editor.backdrop.append(text.slice(0, at), mark, rest + '\n');
  }
  syncScroll();
}

function syncScroll() {
  editor.backdrop.scrollTop = editor.text.scrollTop;
  editor.backdrop.scrollLeft = editor.text.scrollLeft;
  editor.gutter.scrollTop = editor.text.scrollTop;
}

function showEditorError(err) {
  editor.error = {line: err.line, column: err.column, message: err.message};
  const box = $('editor-error');
  box.hidden = false;
  $('error-where').textContent = err.line > 0
      ? `line ${err.line}, column ${err.column}` : (err.status ? `HTTP ${err.status}` : 'error');
  const caret = $('error-caret');
  caret.replaceChildren();
  if (err.line > 0) {
    const src = editor.text.value.split('\n')[err.line - 1] || '';
    caret.append(el('span', {class: 'lineno', text: `${err.line} | `}), src, '\n',
                 el('span', {class: 'lineno', text: ' '.repeat(String(err.line).length) + ' | '}),
                 ' '.repeat(Math.max(0, err.column - 1)), el('span', {class: 'caret', text: '^'}));
  }
  caret.hidden = err.line <= 0;
  // The message repeats the line and caret as the CLI prints them; its first line says it all.
  $('error-message').textContent = err.message.split('\n')[0];
  renderEditorDecorations();
}

function clearEditorError() {
  editor.error = null;
  $('editor-error').hidden = true;
  renderEditorDecorations();
}

async function explainNow() {
  const text = editor.text.value;
  const seq = ++editor.seq;
  if (!text.trim()) {
    clearEditorError();
    $('explain').hidden = true;
    return;
  }
  try {
    const r = await api('/api/explain', {method: 'POST', body: {text}});
    if (seq !== editor.seq) return;
    clearEditorError();
    renderExplain(r);
  } catch (e) {
    if (seq !== editor.seq) return;
    showEditorError(e);
    $('explain').hidden = true;
  }
}

function renderExplain(r) {
  const box = $('explain');
  box.hidden = false;
  const cols = $('explain-columns');
  cols.replaceChildren();
  for (const q of r.queries) {
    const line = el('div', {class: 'explain-query'}, el('span', {class: 'label', text: q.label}));
    for (const c of q.columns) {
      line.append(el('span', {class: 'chip role-' + c.role,
                              title: c.role + (c.aggregate ? ' · ' + c.aggregate : ''), text: c.name}));
    }
    cols.append(line);
  }
  $('explain-summary').textContent =
      `· ${r.queries.length} ${r.queries.length === 1 ? 'query' : 'queries'}, ` +
      `${r.advice.trim().split('\n').length} advice, ${r.agents} agents`;
  $('explain-advice').textContent = r.advice;
}

function onEditorInput() {
  editor.error = null;  // the old mark points into text that changed
  renderEditorDecorations();
  clearTimeout(editor.timer);
  editor.timer = setTimeout(explainNow, kExplainDelayMs);
}

editor.text.addEventListener('input', onEditorInput);
editor.text.addEventListener('scroll', syncScroll);
$('error-where').addEventListener('click', () => {
  if (!editor.error) return;
  const at = offsetOf(editor.text.value, editor.error.line, editor.error.column);
  editor.text.focus();
  editor.text.setSelectionRange(at, at + 1);
});

$('query-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('query-name').value.trim();
  const text = editor.text.value;
  const interval = Number($('query-interval').value) || 1000;
  const status = $('install-status');
  const button = $('install-button');
  button.disabled = true;
  status.hidden = false;
  status.dataset.kind = 'info';
  status.textContent = `installing '${name}' on the agents…`;
  try {
    const q = await api('/api/queries', {method: 'POST', body: {name, text, interval_ms: interval}});
    status.textContent = `'${q.name}' ${q.state} on ${q.agents} agents (install ${q.install_ms} ms)` +
        (q.notes.length ? ' · ' + q.notes.join('; ') : '');
    status.dataset.kind = 'ok';
    clearEditorError();
    await board.upsert(q);
    const card = board.cards.get(q.name);
    if (card && q.state === 'starting') card.settle();
  } catch (e) {
    status.dataset.kind = 'error';
    status.textContent = `install failed (${e.status || 'network'}): ${e.message.split('\n')[0]}`;
    if (e.line > 0) showEditorError(e);
  } finally {
    button.disabled = false;
  }
});

// ---- managed queries --------------------------------------------------------

// A group's key in maps and its label in the chart: its GroupBy values.
function groupKey(row, groupIdx) {
  return groupIdx.length ? groupIdx.map((i) => formatValue(row[i])).join(' · ') : 'all';
}

class QueryCard {
  constructor(q) {
    this.name = q.name;
    this.columns = q.columns;
    this.points = new Map();     // time -> interval table (rows)
    this.total = null;
    this.node = $('query-card').content.firstElementChild.cloneNode(true);
    this.node.dataset.query = q.name;
    this.q = q;
    this.chart = null;
    this.chartColumn = -1;
    this.node.querySelector('.query-name').textContent = q.name;
    this.node.querySelector('.pause').addEventListener('click', () => this.togglePause());
    this.node.querySelector('.stop').addEventListener('click', () => this.stop());
    this.select = this.node.querySelector('.column-select');
    this.select.addEventListener('change', () => {
      this.chartColumn = Number(this.select.value);
      this.rebuildChart();
    });
    this.update(q);
  }

  get groupIdx() {
    return this.columns.map((c, i) => (c.role === 'group' ? i : -1)).filter((i) => i >= 0);
  }
  get aggregateIdx() {
    return this.columns.map((c, i) => (c.role === 'aggregate' ? i : -1)).filter((i) => i >= 0);
  }

  // `fresh` is all or part of a query as the API answers it.
  update(fresh) {
    const {total, ...rest} = fresh;
    this.q = {...this.q, ...rest};
    const q = this.q;
    if (q.columns) this.columns = q.columns;
    const n = this.node;
    const state = n.querySelector('.state');
    state.textContent = q.state;
    state.dataset.state = q.state;
    n.dataset.state = q.state;
    n.querySelector('.meta').textContent =
        `every ${q.interval_ms} ms · ${q.agents} agents · ${q.intervals} intervals` +
        (q.lost_reports ? ` · ${q.lost_reports} reports lost` : '');
    n.querySelector('.query-text').textContent = q.text;
    const pause = n.querySelector('.pause');
    pause.textContent = q.state === 'paused' ? 'Resume' : 'Pause';
    pause.disabled = q.state === 'starting';
    const err = n.querySelector('.query-error');
    err.hidden = !q.error;
    if (q.error) err.textContent = typeof q.error === 'string' ? q.error : (q.error.message || '');
    if (total) this.setTotal(total);
    this.renderEvents([...(q.notes || []).map((t) => ({text: t})), ...(q.events || [])]);
    this.renderColumnChoice();
  }

  renderColumnChoice() {
    const aggs = this.aggregateIdx;
    if (this.chartColumn < 0 && aggs.length) this.chartColumn = aggs[0];
    this.select.hidden = aggs.length < 2;
    if (this.select.options.length !== aggs.length) {
      this.select.replaceChildren(...aggs.map((i) => el('option', {value: String(i),
                                                                   text: this.columns[i].name})));
    }
    this.select.value = String(this.chartColumn);
  }

  renderEvents(events) {
    const list = this.node.querySelector('.events');
    list.replaceChildren(...events.slice(-5).map((e) =>
      el('li', {text: (e.time ? formatTime(e.time) + '  ' : '') + e.text})));
  }

  async loadWindow(since = 0) {
    const w = await api(`/api/queries/${encodeURIComponent(this.name)}/intervals` +
                        (since ? `?since=${since}` : ''));
    if (w.columns) this.columns = w.columns;
    for (const i of w.intervals) this.points.set(i.time, i.interval.rows);
    this.rebuildChart();
  }

  async loadTotal() {
    const q = await api(`/api/queries/${encodeURIComponent(this.name)}`);
    this.update(q);
  }

  lastTime() {
    let t = 0;
    for (const k of this.points.keys()) t = Math.max(t, k);
    return t;
  }

  onInterval(ev) {
    // After a reconnect the window's catch-up and the stream may both bring one interval.
    const known = this.points.has(ev.time);
    const inOrder = ev.time > this.lastTime();
    this.points.set(ev.time, ev.interval.rows);
    this.setTotal(ev.total);
    if (!known) this.q.intervals = (this.q.intervals || 0) + 1;
    this.q.agents = ev.agents;
    if (ev.lost) this.q.lost_reports = (this.q.lost_reports || 0) + ev.lost;
    this.update({});
    if (inOrder) this.appendToChart(ev.time, ev.interval.rows);
    else if (!known) this.rebuildChart();
  }

  setTotal(total) {
    this.total = total;
    const table = this.node.querySelector('.totals');
    const cols = total.columns;
    table.tHead.replaceChildren(el('tr', {}, ...cols.map((c, i) =>
      el('th', {class: this.columns[i] && this.columns[i].role !== 'group' ? 'num' : '', text: c}))));
    const aggs = this.aggregateIdx;
    const sortBy = aggs.length ? aggs[0] : -1;
    const rows = [...total.rows];
    if (sortBy >= 0) rows.sort((a, b) => (Number(b[sortBy]) || 0) - (Number(a[sortBy]) || 0));
    const colorOf = this.colorMap();
    table.tBodies[0].replaceChildren(...rows.slice(0, kMaxTableRows).map((r) => {
      const key = groupKey(r, this.groupIdx);
      const tr = el('tr', {'data-group': key});
      r.forEach((v, i) => {
        const td = el('td', {class: typeof v === 'number' ? 'num' : '', text: formatValue(v)});
        if (i === this.groupIdx[0] && colorOf.has(key)) {
          td.prepend(el('span', {class: 'swatch', style: `background:${colorOf.get(key)}`}));
        }
        td.dataset.value = v === null ? '' : String(v);
        tr.append(td);
      });
      return tr;
    }));
    const notes = [];
    if (rows.length > kMaxTableRows) notes.push(`${rows.length - kMaxTableRows} more rows not shown`);
    if (total.incomplete) notes.push(`incomplete: ${total.dropped} events dropped (max_groups ${total.max_groups})`);
    this.node.querySelector('.table-note').textContent = notes.join(' · ');
    this.node.querySelector('.since').textContent =
        this.q.started ? `since ${formatTime(this.q.started)}` : '';
  }

  // A group keeps its colour while the card lives, whatever its rank.
  colorFor(group) {
    if (!this.colors) this.colors = new Map();
    if (!this.colors.has(group)) this.colors.set(group, kPalette[this.colors.size % kPalette.length]);
    return this.colors.get(group);
  }

  // The colours follow the chart's datasets, so table and chart agree.
  colorMap() {
    const m = new Map();
    if (this.chart) for (const d of this.chart.data.datasets) m.set(d.label, d.borderColor);
    return m;
  }

  // Groups to chart: the largest by total (or by what the window holds).
  chartedGroups() {
    const col = this.chartColumn;
    const sums = new Map();
    const add = (rows) => {
      for (const r of rows) {
        const k = groupKey(r, this.groupIdx);
        sums.set(k, (sums.get(k) || 0) + Math.abs(Number(r[col]) || 0));
      }
    };
    if (this.total) add(this.total.rows);
    for (const rows of this.points.values()) add(rows);
    return [...sums.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  }

  rebuildChart() {
    const box = this.node.querySelector('.chart-box');
    const note = this.node.querySelector('.chart-note');
    if (this.chartColumn < 0) {
      box.classList.add('no-chart');
      note.textContent = 'a query without aggregation: its rows are in the table';
      return;
    }
    box.classList.remove('no-chart');
    if (typeof Chart === 'undefined') {
      note.textContent = 'chart.js did not load (/static/chart.js): charts are off';
      return;
    }
    const all = this.chartedGroups();
    const groups = all.slice(0, kMaxChartedGroups);
    const times = [...this.points.keys()].sort((a, b) => a - b);
    const datasets = groups.map((g) => ({
      label: g,
      data: [],
      borderColor: this.colorFor(g),
      backgroundColor: this.colorFor(g) + '33',
      borderWidth: 1.5,
      pointRadius: 0,
      cubicInterpolationMode: 'monotone',
    }));
    const index = new Map(groups.map((g, i) => [g, i]));
    for (const t of times) this.pushPoints(datasets, index, t, this.points.get(t));
    note.textContent = all.length > groups.length
        ? `the ${groups.length} largest of ${all.length} groups; the table has all` : '';
    if (!this.chart) {
      this.chart = new Chart(box.querySelector('canvas'), chartConfig(datasets, this.columns[this.chartColumn]));
    } else {
      this.chart.data.datasets = datasets;
      this.chart.options.scales.y.title.text = this.columns[this.chartColumn].name + ' per interval';
      this.chart.update('none');
    }
    this.groupIndex = index;
    if (this.total) this.setTotal(this.total);
  }

  // Every charted group gets a point at every interval: 0 when it had no row.
  pushPoints(datasets, index, t, rows) {
    const seen = new Set();
    for (const r of rows) {
      const k = groupKey(r, this.groupIdx);
      const i = index.get(k);
      if (i === undefined) continue;
      datasets[i].data.push({x: t, y: Number(r[this.chartColumn]) || 0});
      seen.add(i);
    }
    datasets.forEach((d, i) => { if (!seen.has(i)) d.data.push({x: t, y: 0}); });
  }

  appendToChart(t, rows) {
    if (!this.chart || !this.groupIndex) return this.rebuildChart();
    const fresh = rows.some((r) => !this.groupIndex.has(groupKey(r, this.groupIdx)));
    if (fresh && this.groupIndex.size < kMaxChartedGroups) return this.rebuildChart();
    this.pushPoints(this.chart.data.datasets, this.groupIndex, t, rows);
    this.trimToWindow();
    this.chart.update('none');
  }

  trimToWindow() {
    const keep = (board.windowMs || 3600000);
    const cutoff = Date.now() - keep;
    for (const t of this.points.keys()) if (t < cutoff) this.points.delete(t);
    for (const d of this.chart.data.datasets) {
      while (d.data.length && d.data[0].x < cutoff) d.data.shift();
    }
  }

  // A resume answers 'starting' and installs on; the stream's 'running' may
  // come before that answer, so ask again until the query has settled.
  async settle() {
    for (let i = 0; i < 40 && this.q.state === 'starting' && board.cards.get(this.name) === this; i++) {
      await new Promise((r) => setTimeout(r, 500));
      try { await this.loadTotal(); } catch { return; }
    }
  }

  async togglePause() {
    const action = this.q.state === 'paused' ? 'resume' : 'pause';
    const button = this.node.querySelector('.pause');
    button.disabled = true;
    try {
      const q = await api(`/api/queries/${encodeURIComponent(this.name)}/${action}`, {method: 'POST'});
      this.update(q);
      if (q.state === 'starting') this.settle();
      pollStatus();
    } catch (e) {
      showBanner(`${action} '${this.name}' failed: ${e.message}`);
    } finally {
      button.disabled = false;
    }
  }

  async stop() {
    if (!confirm(`Stop '${this.name}'? serve uninstalls it from every agent and forgets it.`)) return;
    const button = this.node.querySelector('.stop');
    button.disabled = true;
    try {
      await api(`/api/queries/${encodeURIComponent(this.name)}`, {method: 'DELETE'});
      board.remove(this.name);
      pollStatus();
    } catch (e) {
      button.disabled = false;
      if (e.status === 404) board.remove(this.name);
      else showBanner(`stop '${this.name}' failed: ${e.message}`);
    }
  }

  destroy() {
    if (this.chart) this.chart.destroy();
    this.node.remove();
  }
}

function chartConfig(datasets, column) {
  const grid = 'rgba(255,255,255,0.07)';
  const ticks = '#9aa5b1';
  return {
    type: 'line',
    data: {datasets},
    options: {
      animation: false,
      parsing: false,
      normalized: true,
      maintainAspectRatio: false,
      interaction: {mode: 'nearest', axis: 'x', intersect: false},
      plugins: {
        legend: {labels: {color: '#d5dde5', boxWidth: 12, boxHeight: 2}},
        decimation: {enabled: true, algorithm: 'lttb', samples: 400},
        tooltip: {callbacks: {
          title: (items) => items.length ? formatTime(items[0].parsed.x) : '',
          label: (item) => `${item.dataset.label}: ${formatValue(item.parsed.y)}`,
        }},
      },
      scales: {
        x: {type: 'linear', grid: {color: grid},
            ticks: {color: ticks, maxTicksLimit: 8, callback: (v) => formatTime(v)}},
        y: {beginAtZero: true, grid: {color: grid},
            title: {display: true, color: ticks, text: column.name + ' per interval'},
            ticks: {color: ticks, callback: (v) => compactNumber(v)}},
      },
    },
  };
}

const compactFormat = new Intl.NumberFormat('en-US', {notation: 'compact', maximumFractionDigits: 1});
function compactNumber(v) { return compactFormat.format(v); }

const board = {
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

const stream = {
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

// ---- start ------------------------------------------------------------------

async function start() {
  renderEditorDecorations();
  pollStatus();
  pollTracepoints();
  setInterval(pollStatus, kPollMs);
  setInterval(pollTracepoints, kTracepointPollMs);
  setInterval(() => {  // "since" labels and ages stay true while quiet
    for (const c of board.cards.values()) if (c.total) c.setTotal(c.total);
  }, 30000);
  try {
    const status = await api('/api/status');
    board.windowMs = (status.limits && status.limits.window_ms && status.limits.window_ms.value) || 3600000;
  } catch { /* pollStatus shows it */ }
  stream.connect();
  try {
    await board.load();
  } catch (e) {
    showBanner(`cannot list the managed queries: ${e.message}`);
  }
}

window.pivotDashboard = {board, stream, editor};  // for the browser test and the console
start();
