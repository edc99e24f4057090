// One managed query: its state and buttons, a chart of its groups per
// interval (Chart.js, the global `Chart` of /static/chart.js) and the table of
// its total.
import {api} from './api.js';
import {board} from './board.js';
import {pollStatus} from './health.js';
import {$, compactNumber, el, formatTime, formatValue, showBanner} from './util.js';

const kMaxChartedGroups = 12;    // the largest groups by total; the table has all
const kMaxTableRows = 500;
const kPalette = ['#4fc3f7', '#ffb74d', '#81c784', '#f06292', '#ba68c8', '#fff176',
                  '#4db6ac', '#e57373', '#9575cd', '#aed581', '#90a4ae', '#ff8a65'];

// A group's key in maps and its label in the chart: its GroupBy values.
function groupKey(row, groupIdx) {
  return groupIdx.length ? groupIdx.map((i) => formatValue(row[i])).join(' · ') : 'all';
}

export class QueryCard {
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
      note.textContent = window.pivotChartMissing || 'chart.js did not load (/static/chart.js): charts are off';
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
