// The dashboard of `pivot serve` in a real headless Chromium (issue 14, part 3):
// a minidfs cluster and a real `pivot serve` on it, the page loaded from serve
// itself, installs the seed query from its editor, charts the three client
// applications with the totals the clients recorded (minidfs' ground truth),
// shows the totals and says so when Chart.js is missing, puts a bad query's
// error at its line and column, pauses and resumes it, carries on through a
// restart of serve, and stops the query until the agents drop it.
//
//   cd tests/browser && npm ci && PIVOT_BUILD=../../build/release node dashboard.test.mjs
//
// CTest runs it in the release preset (PIVOT_HEAVY_TESTS) through run.sh.
// Environment: PIVOT_BUILD (default build/release of this checkout), CHROMIUM
// (default /usr/bin/chromium), SCREENSHOT (default /tmp/dashboard.png: the page
// with the seed query's chart; beside it, -error.png: the editor with the bad
// query's error), DEBUG_AGENTS=1 (log /api/agents while waiting for the agents
// to drop the stopped query). Exits 0 when it passes, 77 when it skips (a
// missing package; says which), 1 when it fails.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const build = process.env.PIVOT_BUILD || path.join(root, 'build/release');
const pivotBin = path.join(build, 'tools/pivot');
const minidfsBin = path.join(build, 'examples/minidfs/minidfs');
const chromiumBin = process.env.CHROMIUM || '/usr/bin/chromium';
const screenshot = process.env.SCREENSHOT || '/tmp/dashboard.png';

const kSkip = 77;
const kSeed = `From incr In DataNodeMetrics.incrBytesRead
Join cl In First(ClientProtocols) On cl -> incr
GroupBy cl.procName
Select cl.procName, SUM(incr.delta)`;
const kBad = `From incr In DataNodeMetrics.incrBytesRead
Select SUM(incr.delta2)`;
const kApps = ['FSread', 'HBase', 'MapReduce'];

// Thrown, so that main() stops whatever runs already before it exits 77.
class Skip extends Error {}
function skip(why) {
  throw new Skip(why);
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

// The clients wait for the go file, so that the query is installed before
// their first op and its total is every byte they read.
async function startCluster(dir) {
  const ready = path.join(dir, 'ready');
  const cluster = start(minidfsBin, ['cluster', '--datanodes', '3', '--clients', '3', '--ops', '40', '--rate', '4',
                                     '--seed', '7', '--stay', '--go-file', path.join(dir, 'go'),
                                     '--done-file', path.join(dir, 'done'), '--truth-dir', path.join(dir, 'truth'),
                                     '--runtime-dir', path.join(dir, 'agents'), '--ready-file', ready,
                                     '--run-dir', path.join(dir, 'logs')],
                        path.join(dir, 'cluster.out'));
  await waitFor('minidfs to be ready', () => {
    if (cluster.exitCode !== null) throw new Error('minidfs exited: ' + fs.readFileSync(path.join(dir, 'cluster.out')));
    return fs.existsSync(ready);
  }, 20000);
}

// Lets the clients go, waits for their last op, and returns what they
// recorded reading per application: `minidfs truth --query Q2`, the seed.
async function runWorkload(dir) {
  fs.writeFileSync(path.join(dir, 'go'), '');
  await waitFor('the clients to finish', () => fs.existsSync(path.join(dir, 'done')), 60000, 200);
  const out = await new Promise((resolve, reject) => {
    const p = spawn(minidfsBin, ['truth', '--dir', path.join(dir, 'truth'), '--query', 'Q2']);
    let text = '';
    p.stdout.on('data', (d) => { text += d; });
    p.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`minidfs truth exited ${code}`))));
  });
  return Object.fromEntries(JSON.parse(out).rows.map((r) => [r[0], r[1]]));
}

// pivot serve on `listen` (a free port by default), its state file in dir.
async function startServe(dir, listen = '127.0.0.1:0', logName = 'serve.out') {
  const out = path.join(dir, logName);
  const serve = start(pivotBin, ['--runtime-dir', path.join(dir, 'agents'), 'serve', '--listen', listen,
                                 '--state', path.join(dir, 'serve-state.json')], out);
  const url = await waitFor('pivot serve to listen', () => {
    if (serve.exitCode !== null) throw new Error('pivot serve exited: ' + fs.readFileSync(out));
    const m = /listening on (http:\/\/[0-9.]+:\d+)/.exec(fs.readFileSync(out, 'utf8'));
    return m && m[1];
  });
  return {url, serve};
}

async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
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

// The chart's lines summed per group: each point is one interval's rows, and
// the window holds every interval since the install.
async function chartSums(page) {
  return page.evaluate(() => {
    const chart = window.Chart.getChart(document.querySelector('[data-query=seed] canvas'));
    return Object.fromEntries(chart.data.datasets.map((d) => [d.label, d.data.reduce((s, p) => s + p.y, 0)]));
  });
}

// Equal as sets of [key, value]: objects by group, or arrays.
const same = (a, b) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

async function openDashboard(browser, serveUrl, pageErrors) {
  const page = await browser.newPage({viewport: {width: 1440, height: 1000}});
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // A failed request is the page's business (the bad query's 400, a fetch
  // while serve restarts); an exception is not.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
  page.on('dialog', (d) => d.accept());
  await page.goto(serveUrl + '/');
  log(`dashboard at ${serveUrl}/`);
  return {page};
}

async function checkAgentsAndTracepoints(page) {
  await page.waitForFunction(() => document.querySelectorAll('#agents tr').length === 7);
  await page.waitForFunction(() => [...document.querySelectorAll('.tp-name')]
    .some((b) => b.textContent === 'DataNodeMetrics.incrBytesRead'));
  expect(await page.locator('#health').textContent().then((t) => t.includes('agents')), 'the health counters');
  log('7 agents and the tracepoints shown');
}

// The bad query's error at the line and column the API gives: in the
// editor's text, and as a caret under the line.
async function checkBadQuery(page, serveUrl) {
  const apiError = (await getJson(serveUrl, '/api/explain', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                            body: JSON.stringify({text: kBad})})).body.error;
  expect(apiError && apiError.line === 2 && apiError.column > 0, `an error at line 2 from the API, got ${JSON.stringify(apiError)}`);
  await page.fill('#query-text', kBad);
  await page.waitForSelector('#editor-error:not([hidden])');
  const where = await page.textContent('#error-where');
  expect(where === `line ${apiError.line}, column ${apiError.column}`, `"line ${apiError.line}, column ${apiError.column}", got "${where}"`);
  const mark = await page.$eval('#error-mark', (m) => ({before: m.previousSibling.textContent}));
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
}

async function installSeed(page) {
  await page.fill('#query-name', 'seed');
  await page.fill('#query-text', kSeed);
  await page.waitForFunction(() => document.getElementById('editor-error').hidden &&
                                   !document.getElementById('explain').hidden);
  expect((await page.textContent('#explain-advice')).includes('EMIT q1'), 'explain to show the advice');
  await page.click('#install-button');
  await page.waitForSelector('[data-query=seed][data-state=running]');
  log('seed installed from the editor');
}

// The table, the chart and the API all hold what the clients recorded.
async function checkTotals(page, serveUrl, truth) {
  expect(same(Object.keys(truth).sort(), kApps), `three applications in the ground truth, got ${Object.keys(truth)}`);
  const fromApi = async () => Object.fromEntries((await getJson(serveUrl, '/api/queries/seed')).body.total.rows);
  await waitFor('the API total to equal the ground truth', async () => same(await fromApi(), truth), 15000)
    .catch(async (e) => { throw new Error(`${e.message}: API ${JSON.stringify(await fromApi())}, truth ${JSON.stringify(truth)}`); });
  await waitFor('the table to equal the ground truth', async () => same(await tableTotals(page), truth), 10000)
    .catch(async (e) => { throw new Error(`${e.message}: table ${JSON.stringify(await tableTotals(page))}, truth ${JSON.stringify(truth)}`); });
  const labels = await page.evaluate(() =>
    window.Chart.getChart(document.querySelector('[data-query=seed] canvas')).data.datasets.map((d) => d.label).sort());
  expect(same(labels, kApps), `the chart's groups ${kApps}, got ${labels}`);
  await waitFor('the chart to sum to the ground truth', async () => same(await chartSums(page), truth), 10000)
    .catch(async (e) => { throw new Error(`${e.message}: chart ${JSON.stringify(await chartSums(page))}, truth ${JSON.stringify(truth)}`); });
  log(`table, chart and API = ground truth: ${JSON.stringify(truth)}`);
}

// A pivot built without Chart.js serves a /static/chart.js that only sets
// window.pivotChartMissing (src/serve/dashboard.cc): the page says so in the
// card, and its table still has the totals.
async function checkWithoutChartJs(browser, serveUrl, truth, pageErrors) {
  const page = await browser.newPage({viewport: {width: 1440, height: 1000}});
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const note = 'no chart: built without its chart library (the test)';
  await page.route('**/static/chart.js', (r) => r.fulfill({contentType: 'text/javascript; charset=utf-8',
                                                          body: `window.pivotChartMissing = ${JSON.stringify(note)};\n`}));
  await page.goto(serveUrl + '/');
  await waitFor('the table without Chart.js', async () => same(await tableTotals(page), truth), 10000);
  const shown = await page.textContent('[data-query=seed] .chart-note');
  expect(shown === note, `the card to say "${note}", got "${shown}"`);
  await page.close();
  log('without Chart.js: the card says so, and the table has the totals');
}

// The agents' queries in the page's table, once every agent shows n.
function agentQueries(page, n) {
  return page.waitForFunction((n) => {
    const cells = [...document.querySelectorAll('#agents td.queries')];
    return cells.length === 7 && cells.every((c) => c.textContent === String(n));
  }, n, {timeout: 10000});
}

// Paused, serve uninstalls the query from every agent; resumed, installs it.
async function checkPauseResume(page) {
  await page.click('[data-query=seed] .pause');
  await page.waitForSelector('[data-query=seed][data-state=paused]');
  await agentQueries(page, 0);
  log('paused: every agent shows 0 queries');
  await page.click('[data-query=seed] .pause');  // resume
  await page.waitForSelector('[data-query=seed][data-state=running]');
  // Each wait follows the one before, so a view older than serve's last
  // discovery (every 2 s) cannot pass.
  await agentQueries(page, 1);
  log('resumed: every agent shows 1 query');
}

// serve restarts: the page shows the stream lost and retries; the new serve
// restores the query from its state file, and the page goes on with it.
async function checkServeRestart(page, dir, serve) {
  const points = () => page.evaluate(() =>
    window.Chart.getChart(document.querySelector('[data-query=seed] canvas')).data.datasets[0].data.length);
  await stopProcess(serve.serve);
  await page.waitForSelector('#stream-state[data-state=lost]', {timeout: 10000});
  await page.waitForSelector('#banner:not([hidden])');
  log(`serve stopped: page says "${await page.textContent('#stream-state')}"`);
  const again = await startServe(dir, new URL(serve.url).host, 'serve-again.out');
  expect(again.url === serve.url, `serve back at ${serve.url}, got ${again.url}`);
  await page.waitForSelector('#stream-state[data-state=live]', {timeout: 30000});
  await page.waitForSelector('#banner', {state: 'hidden', timeout: 10000});
  await page.waitForSelector('[data-query=seed][data-state=running]', {timeout: 20000});
  const before = await points();
  await waitFor('new points after the reconnect', async () => (await points()) > before, 10000);
  log('serve back: the stream is live again, the query restored and charted on');
  return again;
}

// Stop: the card goes, serve forgets the query, the agents drop it.
async function checkStop(page, serveUrl) {
  await page.click('[data-query=seed] .stop');
  await page.waitForSelector('[data-query=seed]', {state: 'detached'});
  await page.waitForSelector('#no-queries:not([hidden])');
  expect((await getJson(serveUrl, '/api/queries')).body.queries.length === 0, 'no managed queries in the API');
  await agentQueries(page, 0);
  let agents = [];
  await waitFor('every agent in the API to have dropped the query', async () => {
    const b = (await getJson(serveUrl, '/api/agents')).body;
    agents = b.agents;
    if (process.env.DEBUG_AGENTS) log(`agents ${b.updated} ${JSON.stringify(agents.map((a) => a.queries))}`);
    return agents.every((a) => a.queries === 0);
  }, 20000, 200).catch((e) => {
    throw new Error(`${e.message}: ${JSON.stringify(agents.map((a) => [a.procName, a.host, a.queries]))}`);
  });
  log('stopped: gone from the page, and every agent shows 0 queries, in the page and the API');
}

async function run(chromium, dir) {
  await startCluster(dir);
  log('minidfs is up');
  let serve = await startServe(dir);
  const serveUrl = serve.url;
  log(`pivot serve at ${serveUrl}`);
  const chart = await fetch(serveUrl + '/static/chart.js').then((r) => r.text());
  if (chart.includes('pivotChartMissing')) skip('this pivot was built without Chart.js (Debian package libjs-chart.js; scripts/setup.sh, then reconfigure)');
  await waitFor('serve to discover 7 agents', async () => (await getJson(serveUrl, '/api/agents')).body.agents.length === 7);

  const browser = await chromium.launch({executablePath: chromiumBin, headless: true,
                                         args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage']});
  try {
    const pageErrors = [];
    const {page} = await openDashboard(browser, serveUrl, pageErrors);
    expect(await page.evaluate(() => typeof window.Chart === 'function'), 'Chart.js to load from serve (/static/chart.js)');
    await checkAgentsAndTracepoints(page);
    await checkBadQuery(page, serveUrl);
    await installSeed(page);
    await agentQueries(page, 1);
    const truth = await runWorkload(dir);
    log(`the clients are done; they read ${JSON.stringify(truth)}`);
    await checkTotals(page, serveUrl, truth);
    await page.screenshot({path: screenshot});
    log(`screenshot: ${screenshot}`);
    await checkWithoutChartJs(browser, serveUrl, truth, pageErrors);
    await checkPauseResume(page);
    serve = await checkServeRestart(page, dir, serve);
    await checkStop(page, serveUrl);
    expect(pageErrors.length === 0, `no errors in the page, got ${pageErrors.length}: ${[...new Set(pageErrors)].join('; ')}`);
  } finally {
    await browser.close();
  }
}

async function main() {
  let dir = null;
  let failed = null;
  try {
    checkPrerequisites();
    const chromium = await loadPlaywright();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pivot-dashboard-'));
    await run(chromium, dir);
  } catch (e) {
    failed = e;
  }
  await stopAll();
  if (failed instanceof Skip) {
    console.log(`SKIP dashboard.test: ${failed.message}`);
    if (dir) fs.rmSync(dir, {recursive: true, force: true});
    process.exit(kSkip);
  }
  if (failed) {
    console.log(`FAIL dashboard.test: ${failed.stack || failed}`);
    for (const f of ['serve.out', 'serve-again.out', 'cluster.out']) {
      const p = dir && path.join(dir, f);
      if (p && fs.existsSync(p)) console.log(`--- ${f}\n${fs.readFileSync(p, 'utf8').slice(-4000)}`);
    }
    if (dir) console.log(`(kept ${dir})`);
    process.exit(1);
  }
  fs.rmSync(dir, {recursive: true, force: true});
  console.log('PASS dashboard.test');
}

main();
