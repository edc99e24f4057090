// serve's health counters and limits, its agents and their tracepoints, polled.
import {api} from './api.js';
import {insertIntoEditor} from './editor.js';
import {$, el, formatTime, formatValue, hideBanner, showBanner} from './util.js';

export async function pollStatus() {
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
export async function pollTracepoints() {
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
