// The query editor: explains the text as one types and marks an error at
// its line and column (gutter, a mark under the character, the line with a
// caret); the form installs the query.
import {api} from './api.js';
import {board} from './board.js';
import {$, el} from './util.js';

const kExplainDelayMs = 350;

export const editor = {
  text: $('query-text'),
  backdrop: $('editor-backdrop'),
  gutter: $('editor-gutter'),
  error: null,       // {line, column, message} of the current text, or null
  timer: 0,
  seq: 0,
};

export function insertIntoEditor(s) {
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

export function renderEditorDecorations() {
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
