// The dashboard of `pivot serve` in a real headless Chromium (issue 14, part 3):
// a minidfs cluster and a real `pivot serve` on it, the page installs the seed
// query from its editor, charts the three client applications, shows totals
// equal to the API's, puts a bad query's error at its line and column, and
// stops the query until the agents drop it.
//
// Until serve serves web/dashboard itself, a small Node server here serves
// the page and /static/chart.js and passes /api/* and /metrics on to serve.
//
//   cd tests/browser && npm ci && node dashboard.test.mjs
//
// Environment: PIVOT_BUILD (default build/release of this checkout), CHROMIUM
// (default /usr/bin/chromium), CHART_JS (default Debian's libjs-chart.js),
// SCREENSHOT (default /tmp/dashboard.png; the editor with the bad query's error
// beside it, /tmp/dashboard-error.png), DEBUG_AGENTS=1 (log /api/agents
// while waiting for the agents to drop the stopped query). Exits 0 when it passes, 77 when it
// skips (a missing package; says which), 1 when it fails.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const build = process.env.PIVOT_BUILD || path.join(root, 'build/release');
const pivotBin = path.join(build, 'tools/pivot');
const minidfsBin = path.join(build, 'examples/minidfs/minidfs');
const chromiumBin = process.env.CHROMIUM || '/usr/bin/chromium';
const chartJs = process.env.CHART_JS || '/usr/share/javascript/chart.js/chart.min.js';
const screenshot = process.env.SCREENSHOT || '/tmp/dashboard.png';
const webDir = path.join(root, 'web/dashboard');

const kSkip = 77;
const kSeed = `From incr In DataNodeMetrics.incrBytesRead
Join cl In First(ClientProtocols) On cl -> incr
GroupBy cl.procName
Select cl.procName, SUM(incr.delta)`;
const kBad = `From incr In DataNodeMetrics.incrBytesRead
Select SUM(incr.delta2)`;
const kApps = ['FSread', 'HBase', 'MapReduce'];

function skip(why) {
  console.log(`SKIP dashboard.test: ${why}`);
  process.exit(kSkip);
}

function log(msg) {
  console.log(`[${new Date().toISOString().slice(11, 23)}] ${msg}`);
}

async function loadPlaywright() {
  try {
    return (await import('playwright-core')).chromium;
  } catch {
    skip('npm package playwright-core is missing (cd tests/browser && npm ci)');
  }
}

function checkPrerequisites() {
  if (!fs.existsSync(chromiumBin)) skip(`${chromiumBin} is missing (Debian package chromium; scripts/setup.sh)`);
  if (!fs.existsSync(chartJs)) skip(`${chartJs} is missing (Debian package libjs-chart.js; scripts/setup.sh)`);
  for (const bin of [pivotBin, minidfsBin]) {
    if (!fs.existsSync(bin)) skip(`${bin} is not built (cmake --build --preset release)`);
  }
}

// ---- processes ----------------------------------------------------------------

const children = [];
function start(cmd, args, logFile) {
  const out = fs.openSync(logFile, 'w');
  const child = spawn(cmd, args, {stdio: ['ignore', out, out]});
  children.push(child);
  return child;
}

async function stopAll() {
  for (const c of children.reverse()) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    c.kill('SIGTERM');
    await Promise.race([new Promise((r) => c.once('exit', r)), sleep(5000)]);
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, timeoutMs = 15000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (last ? `: ${last.message}` : ''));
    }
    await sleep(everyMs);
  }
}

async function startCluster(dir) {
  const ready = path.join(dir, 'ready');
  const cluster = start(minidfsBin, ['cluster', '--datanodes', '3', '--clients', '3', '--rate', '200',
                                     '--runtime-dir', path.join(dir, 'agents'), '--ready-file', ready,
                                     '--run-dir', path.join(dir, 'logs')],
                        path.join(dir, 'cluster.out'));
  await waitFor('minidfs to be ready', () => {
    if (cluster.exitCode !== null) throw new Error('minidfs exited: ' + fs.readFileSync(path.join(dir, 'cluster.out')));
    return fs.existsSync(ready);
  }, 20000);
}

async function startServe(dir) {
  const out = path.join(dir, 'serve.out');
  const serve = start(pivotBin, ['--runtime-dir', path.join(dir, 'agents'), 'serve', '--listen', '127.0.0.1:0',
                                 '--state', path.join(dir, 'serve-state.json')], out);
  const url = await waitFor('pivot serve to listen', () => {
    if (serve.exitCode !== null) throw new Error('pivot serve exited: ' + fs.readFileSync(out));
    const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(fs.readFileSync(out, 'utf8'));
    return m && m[1];
  });
  return url;
}

// ---- the stand-in for serve's static routes ----------------------------------

const kTypes = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
                '.css': 'text/css; charset=utf-8'};

// Serves the page; dropStreams() cuts every event stream, as a lost network would.
function startFrontServer(serveUrl) {
  const upstream = new URL(serveUrl);
  const streams = new Set();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/api/stream') {
      streams.add(res);
      res.on('close', () => streams.delete(res));
    }
    if (url.pathname.startsWith('/api/') || url.pathname === '/metrics') return proxy(req, res, upstream);
    let file = null;
    if (url.pathname === '/static/chart.js') file = chartJs;
    else if (url.pathname === '/') file = path.join(webDir, 'index.html');
    else if (/^\/[a-z_]+\.(js|css|html)$/.test(url.pathname)) file = path.join(webDir, url.pathname.slice(1));
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404, {'Content-Type': 'text/plain'});
      return res.end('not found');
    }
    res.writeHead(200, {'Content-Type': kTypes[path.extname(file)] || 'application/octet-stream',
                        'Cache-Control': 'no-cache'});
    fs.createReadStream(file).pipe(res);
  });
  server.dropStreams = () => {
    for (const res of streams) res.destroy();
    return streams.size;
  };
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function proxy(req, res, upstream) {
  const up = http.request({host: upstream.hostname, port: upstream.port, path: req.url, method: req.method,
                           headers: req.headers}, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);  // unbuffered: /api/stream passes each event on at once
  });
  up.on('error', (e) => {
    res.writeHead(502, {'Content-Type': 'application/json'});
    res.end(JSON.stringify({error: {message: 'proxy: ' + e.message, line: 0, column: 0}}));
  });
  res.on('close', () => up.destroy());
  req.pipe(up);
}

// ---- the test --------------------------------------------------------------

async function getJson(serveUrl, p, init) {
  const r = await fetch(serveUrl + p, init);
  return {status: r.status, body: await r.json()};
}

function expect(cond, what) {
  if (!cond) throw new Error('expected ' + what);
}

// The numbers in the page's totals table, by group.
async function tableTotals(page) {
  return page.$$eval('[data-query=seed] .totals tbody tr', (rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.group, Number(r.cells[1].dataset.value)])));
}

async function run(chromium, dir) {
  await startCluster(dir);
  log('minidfs is up');
  const serveUrl = await startServe(dir);
  log(`pivot serve at ${serveUrl}`);
  await waitFor('serve to discover 7 agents', async () => (await getJson(serveUrl, '/api/agents')).body.agents.length === 7);
  const front = await startFrontServer(serveUrl);
  const pageUrl = `http://127.0.0.1:${front.address().port}/`;

  const browser = await chromium.launch({executablePath: chromiumBin, headless: true,
                                         args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
  try {
    const page = await browser.newPage({viewport: {width: 1440, height: 1100}});
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // A failed request is the page's business (the bad query's 400 is one); an exception is not.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
    });
    page.on('dialog', (d) => d.accept());
    await page.goto(pageUrl);
    log(`dashboard at ${pageUrl}`);

    // The agents and tracepoints.
    await page.waitForFunction(() => document.querySelectorAll('#agents tr').length === 7);
    await page.waitForFunction(() => [...document.querySelectorAll('.tp-name')]
      .some((b) => b.textContent === 'DataNodeMetrics.incrBytesRead'));
    expect(await page.locator('#health').textContent().then((t) => t.includes('agents')), 'the health counters');
    log('7 agents and the tracepoints shown');

    // A bad query: its error at the line and column the API gives.
    const apiError = (await getJson(serveUrl, '/api/explain', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                              body: JSON.stringify({text: kBad})})).body.error;
    expect(apiError && apiError.line === 2 && apiError.column > 0, `an error at line 2 from the API, got ${JSON.stringify(apiError)}`);
    await page.fill('#query-text', kBad);
    await page.waitForSelector('#editor-error:not([hidden])');
    const where = await page.textContent('#error-where');
    expect(where === `line ${apiError.line}, column ${apiError.column}`, `"line ${apiError.line}, column ${apiError.column}", got "${where}"`);
    const mark = await page.$eval('#error-mark', (m) => ({line: m.dataset.line, column: m.dataset.column,
                                                          before: m.previousSibling.textContent}));
    const markLine = mark.before.split('\n');
    expect(markLine.length === apiError.line && markLine.at(-1).length === apiError.column - 1,
           `the mark in the editor at ${apiError.line}:${apiError.column}, got ${markLine.length}:${markLine.at(-1).length + 1}`);
    const caretCol = await page.$eval('#error-caret', (p) => p.textContent.split('\n')[1].indexOf('^'));
    const gutterWidth = `${apiError.line} | `.length;
    expect(caretCol - gutterWidth === apiError.column - 1, `the caret under column ${apiError.column}, got ${caretCol - gutterWidth + 1}`);
    const caretLine = await page.$eval('#error-caret', (p) => p.textContent.split('\n')[0]);
    expect(caretLine.endsWith(kBad.split('\n')[1]), `the caret view to show line 2 of the query, got "${caretLine}"`);
    log(`bad query: error at line ${apiError.line}, column ${apiError.column}, marked there`);
    await page.locator('.editor-panel').screenshot({path: screenshot.replace(/(\.png)?$/, '-error.png')});

    // The seed query, installed from the editor.
    await page.fill('#query-name', 'seed');
    await page.fill('#query-text', kSeed);
    await page.waitForFunction(() => document.getElementById('editor-error').hidden &&
                                     !document.getElementById('explain').hidden);
    expect((await page.textContent('#explain-advice')).includes('EMIT q1'), 'explain to show the advice');
    await page.click('#install-button');
    await page.waitForSelector('[data-query=seed][data-state=running]');
    log('seed installed from the editor');

    // Three applications charted, each with a few intervals.
    const labels = await page.waitForFunction(() => {
      const canvas = document.querySelector('[data-query=seed] canvas');
      const chart = canvas && window.Chart && window.Chart.getChart(canvas);
      if (!chart) return null;
      const ds = chart.data.datasets;
      if (ds.length !== 3 || ds.some((d) => d.data.length < 3)) return null;
      return ds.map((d) => d.label).sort();
    }, null, {timeout: 20000}).then((h) => h.jsonValue());
    expect(JSON.stringify(labels) === JSON.stringify(kApps), `the chart's groups ${kApps}, got ${labels}`);
    log(`charted: ${labels.join(', ')}`);

    // The screenshot, with the query live.
    await sleep(4000);
    await page.screenshot({path: screenshot, fullPage: true});
    log(`screenshot: ${screenshot}`);

    // Pause: the total stops moving, and the table equals the API's total,
    // and each chart line sums to its group's total (the window holds every
    // interval since the install).
    // The agents' queries in the page's table; paused, serve uninstalls it from every agent.
    const agentQueries = (n) => page.waitForFunction((n) => {
      const cells = [...document.querySelectorAll('#agents td.queries')];
      return cells.length === 7 && cells.every((c) => c.textContent === String(n));
    }, n, {timeout: 10000});
    await agentQueries(1);
    await page.click('[data-query=seed] .pause');
    await page.waitForSelector('[data-query=seed][data-state=paused]');
    await agentQueries(0);
    log('paused: every agent shows 0 queries');
    const api = await waitFor('the paused total', async () => {
      const a = (await getJson(serveUrl, '/api/queries/seed')).body;
      await sleep(1500);
      const b = (await getJson(serveUrl, '/api/queries/seed')).body;
      return JSON.stringify(a.total) === JSON.stringify(b.total) && b;
    });
    const want = Object.fromEntries(api.total.rows.map((r) => [r[0], r[1]]));
    expect(JSON.stringify(Object.keys(want).sort()) === JSON.stringify(kApps), `three applications in the API's total, got ${Object.keys(want)}`);
    const got = await waitFor('the table to equal the API total', async () => {
      const t = await tableTotals(page);
      return kApps.every((a) => t[a] === want[a]) && t;
    }, 10000).catch(async (e) => { throw new Error(`${e.message}; table ${JSON.stringify(await tableTotals(page))}, API ${JSON.stringify(want)}`); });
    log(`table = API total: ${JSON.stringify(got)}`);
    const sums = await page.evaluate(() => {
      const chart = window.Chart.getChart(document.querySelector('[data-query=seed] canvas'));
      return Object.fromEntries(chart.data.datasets.map((d) => [d.label, d.data.reduce((s, p) => s + p.y, 0)]));
    });
    expect(kApps.every((a) => sums[a] === want[a]), `the chart's lines to sum to the totals, got ${JSON.stringify(sums)}`);
    log('the chart sums to the same totals');

    await page.click('[data-query=seed] .pause');  // resume
    await page.waitForSelector('[data-query=seed][data-state=running]');
    // Every agent has it again; each of these waits follows the one before,
    // so a view older than serve's last discovery (every 2 s) cannot pass.
    await agentQueries(1);
    log('resumed: every agent shows 1 query');

    // A lost stream: shown, retried, and the chart goes on from the window.
    const points = () => page.evaluate(() =>
      window.Chart.getChart(document.querySelector('[data-query=seed] canvas')).data.datasets[0].data.length);
    expect(front.dropStreams() === 1, 'one event stream to cut');
    await page.waitForSelector('#stream-state[data-state=lost]', {timeout: 5000});
    await page.waitForSelector('#banner:not([hidden])');
    log(`stream cut: page says "${await page.textContent('#stream-state')}"`);
    await page.waitForSelector('#stream-state[data-state=live]', {timeout: 10000});
    await page.waitForSelector('#banner', {state: 'hidden'});
    const before = await points();
    await waitFor('new points after the reconnect', async () => (await points()) > before, 5000);
    log('stream back: live again, and the chart goes on');

    // Stop: the card goes, serve forgets the query, the agents drop it.
    await page.click('[data-query=seed] .stop');
    await page.waitForSelector('[data-query=seed]', {state: 'detached'});
    await page.waitForSelector('#no-queries:not([hidden])');
    expect((await getJson(serveUrl, '/api/queries')).body.queries.length === 0, 'no managed queries in the API');
    await agentQueries(0);
    const t0 = Date.now();
    let agents = [];
    await waitFor('every agent in the API to have dropped the query', async () => {
      const b = (await getJson(serveUrl, '/api/agents')).body;
      agents = b.agents;
      if (process.env.DEBUG_AGENTS) log(`agents ${b.updated} ${JSON.stringify(agents.map((a) => a.queries))}`);
      return agents.every((a) => a.queries === 0);
    }, 20000, 200).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(agents.map((a) => [a.procName, a.host, a.queries]))}`);
    });
    log(`API agents all 0 after ${Date.now() - t0} ms`);
    log('stopped: gone from the page, and every agent shows 0 queries');

    expect(pageErrors.length === 0, `no errors in the page, got ${pageErrors.join('; ')}`);
  } finally {
    await browser.close();
    front.close();
  }
}

async function main() {
  checkPrerequisites();
  const chromium = await loadPlaywright();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pivot-dashboard-'));
  let failed = null;
  try {
    await run(chromium, dir);
  } catch (e) {
    failed = e;
  }
  await stopAll();
  if (failed) {
    console.log(`FAIL dashboard.test: ${failed.stack || failed}`);
    for (const f of ['serve.out', 'cluster.out']) {
      const p = path.join(dir, f);
      if (fs.existsSync(p)) console.log(`--- ${f}\n${fs.readFileSync(p, 'utf8').slice(-4000)}`);
    }
    console.log(`(kept ${dir})`);
    process.exit(1);
  }
  fs.rmSync(dir, {recursive: true, force: true});
  console.log('PASS dashboard.test');
}

main();
