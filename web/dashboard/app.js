// The dashboard of `pivot serve` (docs/serve.md): agents, tracepoints and
// health from the JSON API, polled (health.js); a query editor that explains
// as one types and marks an error at its line and column (editor.js); and
// for each managed query a chart of its groups per interval and a table of
// its total (query_card.js), from the query's window and then the event
// stream (board.js).
import {api, auth} from './api.js';
import {board, stream} from './board.js';
import {editor, renderEditorDecorations} from './editor.js';
import {pollStatus, pollTracepoints} from './health.js';
import {$, hideBanner, showBanner} from './util.js';

const kPollMs = 2000;            // serve rediscovers agents every 2 s
const kTracepointPollMs = 10000;

$('token-button').addEventListener('click', () => {
  const t = prompt('Bearer token for pivot serve (kept in this tab only):', auth.token);
  if (t === null) return;
  auth.token = t.trim();
  sessionStorage.setItem('pivot-token', auth.token);
  hideBanner();
  stream.restart();
});

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
