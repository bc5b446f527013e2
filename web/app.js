// The status page's script, served as is (no build step): polls /status every 2 s and each chart's
// /series (only the buckets it lacks), and draws them with uPlot (loaded before it). The session
// cookie set by /?token=... rides along on every request; the page never sees the token.

const POLL_MS = 2000;
const REQUEST_TIMEOUT_MS = 5000;
/** The series kinds src/http/series.ts charts (a key's first part). */
const CHARTED = new Set(['trades', 'liquidity', 'klines', 'candles']);
/** Chart bucket by window: about 150 to 450 points per chart. */
const BUCKET_MS = { 300000: 2000, 900000: 5000, 3600000: 30000 };
/** Columns drawn as bars (flows); the others are lines (levels). */
const BARS = new Set(['volume/min']);
const DASH = '—';

const $ = (id) => document.getElementById(id);
const page = {
  paused: false,
  windowMs: Number($('window').value),
  startedAt: null,
  lostSince: null,
  cards: new Map(),
  charts: new Map(),
  timer: undefined,
  polling: false,
};

// ---- formatting -------------------------------------------------------------------------------

const num = (n) => {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return Math.abs(n) >= 100 ? n.toLocaleString(undefined, { maximumFractionDigits: 2 }) : n.toLocaleString(undefined, { maximumSignificantDigits: 4 });
};
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString() : DASH);
const bytes = (n) => (Number.isFinite(n) ? `${(n / 1048576).toLocaleString(undefined, { maximumFractionDigits: 1 })} MiB` : DASH);
function duration(seconds) {
  if (!Number.isFinite(seconds)) return DASH;
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}
const since = (iso) => (iso ? duration((Date.now() - Date.parse(iso)) / 1000) : null);
const ago = (iso) => (iso ? `${since(iso)} ago` : 'never');
const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString() : DASH);

/** Creates an element with attributes and children (strings become text: nothing is parsed as HTML). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  el.append(...children);
  return el;
}

/** Fills a <dl> with [label, value] rows, reusing its elements so nothing flickers. */
function fillFields(dl, rows) {
  rows.forEach(([label, value], i) => {
    let dt = dl.children[i * 2];
    if (!dt) {
      dt = h('dt');
      dl.append(dt, h('dd'));
    }
    dt.textContent = label;
    dt.nextElementSibling.textContent = value;
  });
  while (dl.children.length > rows.length * 2) dl.lastElementChild.remove();
}

// ---- requests ---------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function getJson(path) {
  const res = await fetch(path, { credentials: 'same-origin', cache: 'no-store', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new HttpError(res.status, body.error || `${res.status} ${res.statusText}`);
  return body;
}

function setConnection(state, text) {
  document.body.dataset.connection = state;
  const el = $('connection');
  if (el.textContent !== text) el.textContent = text;
}

// ---- process and storage ----------------------------------------------------------------------

function renderService(status) {
  $('version').textContent = `v${status.version}`;
  const p = status.process;
  const rows = [
    ['state', status.state],
    ['uptime', duration(status.uptimeSeconds)],
    ['started', new Date(status.startedAt).toLocaleString()],
    ['CPU', p ? `${num(p.cpuPercent)} %` : DASH],
    ['memory (RSS)', bytes(p?.rssBytes)],
    ['heap used', p ? `${bytes(p.heapUsedBytes)} of ${bytes(p.heapTotalBytes)}` : DASH],
    ['event-loop lag', p?.eventLoopLagMs ? `p50 ${num(p.eventLoopLagMs.p50)} ms · p99 ${num(p.eventLoopLagMs.p99)} ms` : DASH],
    ['open files', p && p.openFds !== null ? int(p.openFds) : DASH],
    ['open sockets', int(p?.openSockets)],
  ];
  const c = status.cluster;
  if (c) rows.push(['cluster', `${c.node}: ${c.owned} of ${c.units.length} units, ${c.members.length} members`]);
  fillFields($('service-fields'), rows);
}

function renderStorage(s) {
  fillFields($('storage-fields'), [
    ['backend', s.backend],
    ['write rate', `${num(s.writtenPerSecond)} samples/s`],
    ['backlog', `${int(s.buffered)} sample${s.buffered === 1 ? '' : 's'}`],
    ['written', int(s.written)],
    ['rejected', int(s.rejected)],
    ['errors', int(s.errors)],
    ['failing since', s.failingSince ? `${clock(s.failingSince)} (${since(s.failingSince)})` : DASH],
  ]);
  const err = $('storage-error');
  err.hidden = !s.lastError;
  err.textContent = s.lastError ? `last error: ${s.lastError}` : '';
  $('storage').dataset.health = s.failingSince || s.lastError ? 'bad' : 'ok';
}

// ---- collectors -------------------------------------------------------------------------------

/** ok, warn (degraded, some series failing), bad (failing, backing off, failed) or idle (stopped, standby). */
function healthOf(c) {
  if (c.state === 'failed' || c.state === 'backing-off' || c.failingSince) return 'bad';
  if (c.state === 'stopped' || c.state === 'standby') return 'idle';
  if (c.degraded || c.failedSeries.length > 0) return 'warn';
  return 'ok';
}

function stateText(c) {
  if (c.stoppedByOperator) return 'stopped by operator';
  if (c.state === 'backing-off' && c.nextRestartAt) {
    const wait = (Date.parse(c.nextRestartAt) - Date.now()) / 1000;
    return wait > 0 ? `backing off, retry in ${duration(wait)}` : 'backing off, retrying';
  }
  if (c.state === 'running' && c.failingSince) return 'reconnecting';
  return c.state;
}

function createCard(c) {
  const first = c.keys.find(charted);
  const chartLink = h('a', { href: `#chart-${first}` }, `Charts (${c.keys.filter(charted).length})`);
  const card = h(
    'article',
    { class: 'card', 'data-collector': c.id, 'aria-labelledby': `collector-${c.id}` },
    h('h3', {}, h('span', { id: `collector-${c.id}` }, c.id), h('span', { class: 'badge' })),
    h('dl', { class: 'fields' }),
    h('p', { class: 'note', hidden: '' }),
    h('p', { class: 'error', hidden: '' }),
    h('p', { class: 'links' }, chartLink),
  );
  card.parts = { badge: card.querySelector('.badge'), fields: card.querySelector('dl'), note: card.querySelector('.note'), error: card.querySelector('.error'), links: card.querySelector('.links') };
  return card;
}

/** Unparsed and invalid always, the other reasons (oversized, binary, duplicate) once they count. */
function droppedText(dropped = {}) {
  const { unparsed = 0, invalid = 0, ...others } = dropped;
  const rest = Object.entries(others).filter(([, n]) => n > 0);
  return [['unparsed', unparsed], ['invalid', invalid], ...rest].map(([reason, n]) => `${reason} ${int(n)}`).join(' · ');
}

function updateCard(card, c) {
  const health = healthOf(c);
  card.dataset.health = health;
  card.dataset.state = c.state;
  card.parts.badge.textContent = stateText(c);
  const rows = [
    ['kind', c.kind],
    ['items/s', num(c.itemsPerSecond)],
    ['last data', ago(c.lastDataAt)],
    ['restarts', int(c.restarts)],
    ['gaps', int(c.gaps)],
    ['resyncs', int(c.resyncs)],
    ['dropped', droppedText(c.dropped)],
    ['failed series', c.failedSeries.length ? c.failedSeries.map((f) => `${f.symbol}: ${f.reason}`).join('; ') : '0'],
  ];
  if (c.connections !== undefined) rows.push(['connections', int(c.connections)]);
  if (c.bufferedFrames !== undefined) rows.push(['buffered frames', int(c.bufferedFrames)]);
  if (c.failingSince) rows.push(['failing since', `${clock(c.failingSince)} (${since(c.failingSince)})`]);
  fillFields(card.parts.fields, rows);
  card.parts.note.hidden = !c.degraded;
  card.parts.note.textContent = c.degraded ? `degraded: ${c.degraded}` : '';
  // The last error stays visible while the collector is not healthy; once it delivers again it is history.
  const showError = c.lastError && health !== 'ok';
  card.parts.error.hidden = !showError;
  card.parts.error.textContent = showError ? `${c.lastError}${c.lastErrorAt ? ` (${clock(c.lastErrorAt)})` : ''}` : '';
  card.parts.links.hidden = !c.keys.some(charted);
}

function renderCollectors(collectors) {
  const list = $('collector-list');
  const seen = new Set();
  collectors.forEach((c, i) => {
    seen.add(c.id);
    let card = page.cards.get(c.id);
    if (!card) page.cards.set(c.id, (card = createCard(c)));
    updateCard(card, c);
    if (list.children[i] !== card) list.insertBefore(card, list.children[i] ?? null);
  });
  for (const [id, card] of page.cards) {
    if (seen.has(id)) continue;
    card.remove();
    page.cards.delete(id);
  }
  const bad = collectors.filter((c) => healthOf(c) === 'bad').length;
  $('collector-summary').textContent = `${collectors.length} · ${bad ? `${bad} failing` : 'none failing'}`;
}

// ---- charts -----------------------------------------------------------------------------------

const charted = (key) => CHARTED.has(key.split(':')[0]);
const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function createChart(key) {
  const legend = h('div', { class: 'legend' });
  const plot = h('div', { class: 'plot', role: 'img', 'aria-label': `${key}: no data yet` });
  const error = h('p', { class: 'chart-error', hidden: '' });
  const figure = h('figure', { id: `chart-${key}`, 'data-series': key, 'data-points': '0' }, h('figcaption', {}, h('span', { class: 'key' }, key), legend), plot, error);
  return { key, figure, legend, plot, error, rows: [], columns: [], uplot: null, failed: false };
}

/** Room for the longest tick label of a value axis (uPlot's default is too narrow for 10,246.35). */
const axisWidth = (_plot, values) => 16 + 7 * Math.max(3, ...(values ?? []).map((v) => String(v).length));

/** The time axis in seconds: from the oldest value in the window (at least six buckets back) to now. */
function xRange(oldest) {
  const now = Date.now() / 1000;
  const windowStart = now - page.windowMs / 1000;
  return [Math.min(now - (6 * BUCKET_MS[page.windowMs]) / 1000, Math.max(oldest ?? windowStart, windowStart)), now];
}

function plotOptions(chart, width) {
  const axis = { stroke: cssVar('--muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { stroke: cssVar('--grid'), width: 1 } };
  const colors = [cssVar('--line1'), cssVar('--line2')];
  return {
    width,
    height: 150,
    legend: { show: false },
    cursor: { y: false, points: { show: false } },
    // Each chart ends at now, so charts side by side line up at their newest values; it starts at its
    // oldest value in the window (a daemon started a minute ago fills its charts, not a sliver of them).
    scales: { x: { time: true, range: (_plot, min) => xRange(min) } },
    series: [
      {},
      ...chart.columns.map((label, i) => ({
        label,
        scale: i === 0 ? 'y' : 'y2',
        stroke: colors[i],
        fill: BARS.has(label) ? `${colors[i]}55` : undefined,
        width: BARS.has(label) ? 0 : 1.5,
        spanGaps: !BARS.has(label),
        points: { show: false },
        paths: BARS.has(label) ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined,
      })),
    ],
    axes: [
      { ...axis },
      { ...axis, scale: 'y', size: axisWidth },
      ...(chart.columns.length > 1 ? [{ ...axis, scale: 'y2', side: 1, size: axisWidth, grid: { show: false } }] : []),
    ],
  };
}

function drawChart(chart) {
  const data = [chart.rows.map((r) => r[0] / 1000), ...chart.columns.map((_, i) => chart.rows.map((r) => r[i + 1]))];
  if (!chart.uplot) {
    const width = chart.plot.clientWidth || 320;
    chart.uplot = new uPlot(plotOptions(chart, width), data, chart.plot);
  } else chart.uplot.setData(data);
  chart.figure.dataset.points = String(chart.rows.length);
  const last = chart.rows.at(-1);
  const values = chart.columns.map((name, i) => `${name} ${last ? num(last[i + 1]) : DASH}`);
  chart.legend.replaceChildren(...values.map((text, i) => h('span', { class: `c${i + 1}` }, text)));
  chart.plot.setAttribute('aria-label', last ? `${chart.key}, ${chart.rows.length} points, latest ${values.join(', ')} at ${new Date(last[0]).toLocaleTimeString()}` : `${chart.key}: no data in the window`);
}

/** Fetches what the chart lacks: from its newest bucket (which may have grown) to now. */
async function refreshChart(chart) {
  const bucket = BUCKET_MS[page.windowMs];
  const windowStart = Date.now() - page.windowMs;
  const newest = chart.rows.at(-1);
  const from = Math.floor(newest ? Math.max(newest[0], windowStart) : windowStart);
  try {
    const answer = await getJson(`/series?key=${encodeURIComponent(chart.key)}&from=${from}&bucket=${bucket}`);
    if (chart.columns.join() !== answer.columns.join()) {
      chart.columns = answer.columns;
      chart.uplot?.destroy();
      chart.uplot = null;
    }
    chart.rows = chart.rows.filter((r) => r[0] < answer.from && r[0] >= windowStart - bucket).concat(answer.rows);
    chart.error.hidden = true;
    drawChart(chart);
  } catch (err) {
    chart.error.hidden = false;
    chart.error.textContent = `cannot read: ${err.message}`;
  }
}

function resetCharts() {
  for (const chart of page.charts.values()) {
    chart.rows = [];
    if (chart.uplot) drawChart(chart);
  }
}

/** One chart per series that has one, in the order of the collectors writing them. */
function renderCharts(collectors) {
  const list = $('chart-list');
  const keys = collectors.flatMap((c) => c.keys.filter(charted));
  keys.forEach((key, i) => {
    let chart = page.charts.get(key);
    if (!chart) page.charts.set(key, (chart = createChart(key)));
    if (list.children[i] !== chart.figure) list.insertBefore(chart.figure, list.children[i] ?? null);
  });
  const wanted = new Set(keys);
  for (const [key, chart] of page.charts) {
    if (wanted.has(key)) continue;
    chart.uplot?.destroy();
    chart.figure.remove();
    page.charts.delete(key);
  }
}

/** Refreshes every chart, a few requests at a time. */
async function refreshCharts() {
  const queue = [...page.charts.values()];
  const worker = async () => {
    for (let chart = queue.shift(); chart; chart = queue.shift()) await refreshChart(chart);
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

// ---- the loop ---------------------------------------------------------------------------------

async function poll() {
  let status;
  try {
    status = await getJson('/status');
  } catch (err) {
    if (err.status === 401) {
      setConnection('unauthorized', 'Not authorized: open this page once as /?token=<http.token> (the token in the daemon’s config).');
    } else {
      page.lostSince ??= new Date();
      setConnection('lost', `Daemon unreachable since ${page.lostSince.toLocaleTimeString()} (${err.message}); retrying every ${POLL_MS / 1000} s`);
    }
    return;
  }
  page.lostSince = null;
  if (page.startedAt !== null && page.startedAt !== status.startedAt) resetCharts(); // another daemon process: read the window anew
  page.startedAt = status.startedAt;
  document.body.dataset.startedAt = status.startedAt;
  renderService(status);
  renderStorage(status.storage);
  renderCollectors(status.collectors);
  renderCharts(status.collectors);
  setConnection('live', `Live · updated ${new Date().toLocaleTimeString()}`);
  await refreshCharts();
}

async function loop() {
  clearTimeout(page.timer);
  // One poll at a time: a click while one runs is served when it ends.
  if (page.paused || page.polling) return;
  page.polling = true;
  const started = Date.now();
  try {
    await poll();
  } finally {
    page.polling = false;
  }
  if (!page.paused) page.timer = setTimeout(loop, Math.max(0, POLL_MS - (Date.now() - started)));
}

$('pause').addEventListener('click', () => {
  page.paused = !page.paused;
  $('pause').setAttribute('aria-pressed', String(page.paused));
  $('pause').textContent = page.paused ? 'Resume updates' : 'Pause updates';
  if (page.paused) {
    clearTimeout(page.timer);
    setConnection('paused', 'Paused: figures are not updated');
  } else void loop();
});

$('window').addEventListener('change', () => {
  page.windowMs = Number($('window').value);
  resetCharts();
  if (!page.paused) void loop();
});

// Charts follow the width of their card and the system's theme.
new ResizeObserver(() => {
  for (const chart of page.charts.values()) if (chart.uplot && chart.plot.clientWidth) chart.uplot.setSize({ width: chart.plot.clientWidth, height: 150 });
}).observe($('chart-list'));
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  for (const chart of page.charts.values()) {
    chart.uplot?.destroy();
    chart.uplot = null;
    if (chart.columns.length) drawChart(chart);
  }
});

void loop();
