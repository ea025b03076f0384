/**
 * The dashboard page served at `/`: one self-contained HTML file (no CDN; charts are drawn on
 * canvas). It polls /stats.json every second for the figures and opens a WebSocket with the browser
 * SDK (/cairn-client.js) for a live feed of key events.
 */
export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cairn dashboard</title>
<style>
  :root { --bg:#0f1419; --panel:#171d24; --line:#2a323c; --text:#d7dde4; --dim:#8a96a3; --a:#4fb3ff; --b:#f5a524; --c:#5fd38d; --d:#ef6b73; }
  * { box-sizing: border-box; }
  body { margin:0; background:var(--bg); color:var(--text); font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
  header { display:flex; align-items:baseline; gap:16px; padding:14px 20px; border-bottom:1px solid var(--line); }
  header h1 { margin:0; font-size:20px; letter-spacing:.5px; }
  header .dim { color:var(--dim); }
  #status { margin-left:auto; }
  .ok { color:var(--c); } .bad { color:var(--d); }
  main { padding:16px 20px; display:grid; gap:14px; }
  .tiles { display:grid; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); gap:12px; }
  .tile { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
  .tile .label { color:var(--dim); font-size:12px; text-transform:uppercase; letter-spacing:.6px; }
  .tile .value { font-size:24px; font-variant-numeric:tabular-nums; margin-top:2px; }
  .tile .sub { color:var(--dim); font-size:12px; }
  .charts { display:grid; grid-template-columns:repeat(auto-fit, minmax(300px, 1fr)); gap:12px; }
  .chart { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
  .chart h2, .panel h2 { margin:0 0 6px; font-size:13px; font-weight:600; color:var(--dim); text-transform:uppercase; letter-spacing:.6px; }
  .legend span { margin-right:12px; font-size:12px; }
  .legend i { display:inline-block; width:10px; height:3px; margin-right:4px; vertical-align:middle; }
  canvas { width:100%; height:160px; display:block; }
  .row { display:grid; grid-template-columns:2fr 1fr; gap:12px; }
  .panel { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:10px 12px; overflow:auto; }
  table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
  th, td { text-align:right; padding:4px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th:first-child, td:first-child { text-align:left; }
  th { color:var(--dim); font-weight:500; font-size:12px; }
  .bar { position:relative; height:8px; background:#0b0f13; border-radius:4px; min-width:90px; }
  .bar > div { position:absolute; left:0; top:0; bottom:0; background:var(--a); border-radius:4px; }
  #events { list-style:none; margin:0; padding:0; font:12px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace; max-height:260px; overflow:auto; }
  #events li { border-bottom:1px solid var(--line); padding:2px 0; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
  #events .ev { display:inline-block; width:64px; }
  .ev-set { color:var(--a); } .ev-delete, .ev-drop, .ev-flush { color:var(--d); } .ev-expire, .ev-ttl { color:var(--b); } .ev-evict, .ev-restore { color:var(--c); }
  #auth { display:none; gap:6px; margin-bottom:6px; }
  input, button { background:#0b0f13; color:var(--text); border:1px solid var(--line); border-radius:4px; padding:4px 8px; }
  @media (max-width: 900px) { .row { grid-template-columns:1fr; } }
</style>
</head>
<body>
<header>
  <h1>cairn</h1>
  <span class="dim" id="version"></span>
  <span class="dim" id="uptime"></span>
  <span id="status" class="dim">connecting…</span>
</header>
<main>
  <section class="tiles">
    <div class="tile"><div class="label">Throughput</div><div class="value" id="t-ops">–</div><div class="sub">commands / s</div></div>
    <div class="tile"><div class="label">Hit ratio</div><div class="value" id="t-hit">–</div><div class="sub" id="t-hit-sub">hot · cold</div></div>
    <div class="tile"><div class="label">Keys in memory</div><div class="value" id="t-hot-items">–</div><div class="sub" id="t-cold-items">on disk –</div></div>
    <div class="tile"><div class="label">Memory</div><div class="value" id="t-mem">–</div><div class="sub" id="t-mem-sub">of –</div></div>
    <div class="tile"><div class="label">Disk</div><div class="value" id="t-disk">–</div><div class="sub">LevelDB data</div></div>
    <div class="tile"><div class="label">Evictions · restores</div><div class="value" id="t-evict">–</div><div class="sub" id="t-spill">spills –</div></div>
    <div class="tile"><div class="label">Connections</div><div class="value" id="t-conns">–</div><div class="sub" id="t-subs">subscriptions –</div></div>
  </section>
  <section class="charts">
    <div class="chart"><h2>Throughput (commands/s)</h2><div class="legend"><span><i style="background:var(--a)"></i>commands</span><span><i style="background:var(--b)"></i>writes</span></div><canvas id="c-ops"></canvas></div>
    <div class="chart"><h2>Hit ratio (%)</h2><div class="legend"><span><i style="background:var(--a)"></i>hot</span><span><i style="background:var(--c)"></i>cold</span><span><i style="background:var(--d)"></i>miss</span></div><canvas id="c-hit"></canvas></div>
    <div class="chart"><h2>Latency (shard service time, ms)</h2><div class="legend"><span><i style="background:var(--a)"></i>p50</span><span><i style="background:var(--b)"></i>p99</span></div><canvas id="c-lat"></canvas></div>
    <div class="chart"><h2>Evictions · restores · expirations (/s)</h2><div class="legend"><span><i style="background:var(--d)"></i>evictions</span><span><i style="background:var(--c)"></i>restores</span><span><i style="background:var(--b)"></i>expirations</span></div><canvas id="c-evict"></canvas></div>
  </section>
  <section class="row">
    <div class="panel"><h2>Shards</h2>
      <table><thead><tr><th>shard</th><th>memory</th><th></th><th>keys hot</th><th>keys cold</th><th>disk</th><th>hits hot</th><th>hits cold</th><th>misses</th><th>evictions</th><th>restores</th></tr></thead><tbody id="shards"></tbody></table>
    </div>
    <div class="panel"><h2>Key events (live)</h2>
      <div id="auth"><input id="pw" type="password" placeholder="password for the live feed"><button id="pw-go">connect</button></div>
      <ul id="events"></ul>
    </div>
  </section>
  <section class="row">
    <div class="panel"><h2>Hot keys <span class="dim" id="hot-rate"></span></h2>
      <table><thead><tr><th>key</th><th>shard</th><th>accesses</th><th></th></tr></thead><tbody id="hotkeys"></tbody></table>
    </div>
    <div class="panel"><h2>Value sizes (keys in memory)</h2>
      <table><thead><tr><th>bytes</th><th>keys</th><th></th></tr></thead><tbody id="sizes"></tbody></table>
    </div>
  </section>
</main>
<script type="module">
const POINTS = 60;
const hist = { ops: [[], []], hit: [[], [], []], lat: [[], []], evict: [[], [], []] };
let prev = null;
const $ = (id) => document.getElementById(id);
const fmtBytes = (n) => { const u = ['B', 'KB', 'MB', 'GB', 'TB']; let i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return (i ? n.toFixed(1) : String(Math.round(n))) + ' ' + u[i]; };
const fmtNum = (n) => n >= 1e6 ? (n / 1e6).toFixed(2) + 'M' : n >= 1e4 ? (n / 1e3).toFixed(1) + 'k' : String(Math.round(n));
const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0);
const push = (series, v) => { series.push(v); if (series.length > POINTS) series.shift(); };

function percentile(buckets, bounds, q) {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  let acc = 0;
  for (let i = 0; i < buckets.length; i++) { acc += buckets[i]; if (acc >= q * total) return (i < bounds.length ? bounds[i] : bounds[bounds.length - 1] * 2) * 1000; }
  return null;
}

function draw(canvas, series, colors, opts) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== w * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  let max = opts.max || 0;
  if (!opts.max) for (const s of series) for (const v of s) if (v != null && v > max) max = v;
  if (max <= 0) max = 1;
  const nice = Math.pow(10, Math.floor(Math.log10(max)));
  max = Math.ceil(max / nice) * nice;
  const left = 44, top = 6, bottom = 16, right = 6;
  const pw = w - left - right, ph = h - top - bottom;
  g.strokeStyle = '#2a323c'; g.fillStyle = '#8a96a3'; g.font = '11px system-ui'; g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = top + ph - (ph * i) / 4;
    g.beginPath(); g.moveTo(left, y); g.lineTo(w - right, y); g.stroke();
    const v = (max * i) / 4;
    g.fillText(v >= 1000 ? fmtNum(v) : (v < 10 && v % 1 ? v.toFixed(2) : String(Math.round(v * 100) / 100)), 2, y + 4);
  }
  g.fillText('-' + POINTS + 's', left, h - 3); g.fillText('now', w - right - 22, h - 3);
  series.forEach((s, k) => {
    g.strokeStyle = colors[k]; g.lineWidth = 1.6; g.beginPath();
    let started = false;
    s.forEach((v, i) => {
      if (v == null) { started = false; return; }
      const x = left + pw - ((s.length - 1 - i) * pw) / (POINTS - 1);
      const y = top + ph - (Math.min(v, max) / max) * ph;
      if (!started) { g.moveTo(x, y); started = true; } else g.lineTo(x, y);
    });
    g.stroke();
  });
}

const css = getComputedStyle(document.documentElement);
const C = ['--a', '--b', '--c', '--d'].map((v) => css.getPropertyValue(v).trim());

function render(s) {
  const shards = s.shards;
  const t = {
    hitsHot: sum(shards, (x) => x.hits.hot), hitsCold: sum(shards, (x) => x.hits.cold), misses: sum(shards, (x) => x.misses),
    writes: sum(shards, (x) => x.writes), evictions: sum(shards, (x) => Object.values(x.evictions).reduce((a, b) => a + b, 0)),
    restores: sum(shards, (x) => x.restores), expirations: sum(shards, (x) => x.expirations), spills: sum(shards, (x) => x.spills),
  };
  $('version').textContent = 'v' + s.version + ' · ' + shards.length + ' shards';
  $('uptime').textContent = 'up ' + (s.uptime < 120 ? Math.round(s.uptime) + 's' : s.uptime < 7200 ? Math.round(s.uptime / 60) + 'm' : (s.uptime / 3600).toFixed(1) + 'h');
  const allUp = shards.every((x) => x.open);
  $('status').textContent = allUp ? '● ready' : '● shard down';
  $('status').className = allUp ? 'ok' : 'bad';
  const hotItems = sum(shards, (x) => x.hot.items), coldItems = sum(shards, (x) => x.cold.items);
  $('t-hot-items').textContent = fmtNum(hotItems);
  $('t-cold-items').textContent = 'on disk ' + fmtNum(coldItems);
  $('t-mem').textContent = fmtBytes(sum(shards, (x) => x.hot.bytes));
  $('t-mem-sub').textContent = 'of ' + fmtBytes(sum(shards, (x) => x.hot.maxBytes));
  $('t-disk').textContent = fmtBytes(sum(shards, (x) => x.cold.bytes));
  $('t-evict').textContent = fmtNum(t.evictions) + ' · ' + fmtNum(t.restores);
  $('t-spill').textContent = 'spills ' + fmtNum(t.spills) + ' · expired ' + fmtNum(t.expirations);
  $('t-conns').textContent = fmtNum(Object.values(s.connections).reduce((a, b) => a + b, 0));
  $('t-subs').textContent = Object.entries(s.connections).map(([k, v]) => k + ' ' + v).join(' · ') + ' · subs ' + s.subscriptions;
  const reads = t.hitsHot + t.hitsCold + t.misses;
  if (prev) {
    const dt = Math.max(0.001, (s.time - prev.s.time) / 1000);
    const d = (k) => Math.max(0, t[k] - prev.t[k]);
    const ops = Math.max(0, s.commands - prev.s.commands) / dt;
    push(hist.ops[0], ops); push(hist.ops[1], d('writes') / dt);
    $('t-ops').textContent = fmtNum(ops);
    const dr = d('hitsHot') + d('hitsCold') + d('misses');
    push(hist.hit[0], dr ? (100 * d('hitsHot')) / dr : null); push(hist.hit[1], dr ? (100 * d('hitsCold')) / dr : null); push(hist.hit[2], dr ? (100 * d('misses')) / dr : null);
    const lat = s.buckets.map(() => 0).concat([0]);
    for (const cls of Object.keys(s.latency)) s.latency[cls].forEach((n, i) => (lat[i] += n - (prev.s.latency[cls] ? prev.s.latency[cls][i] : 0)));
    push(hist.lat[0], percentile(lat, s.buckets, 0.5)); push(hist.lat[1], percentile(lat, s.buckets, 0.99));
    push(hist.evict[0], d('evictions') / dt); push(hist.evict[1], d('restores') / dt); push(hist.evict[2], d('expirations') / dt);
  }
  $('t-hit').textContent = reads ? Math.round((100 * (t.hitsHot + t.hitsCold)) / reads) + '%' : '–';
  $('t-hit-sub').textContent = reads ? 'hot ' + Math.round((100 * t.hitsHot) / reads) + '% · cold ' + Math.round((100 * t.hitsCold) / reads) + '%' : 'no reads yet';
  prev = { s, t };
  draw($('c-ops'), hist.ops, [C[0], C[1]], {});
  draw($('c-hit'), hist.hit, [C[0], C[2], C[3]], { max: 100 });
  draw($('c-lat'), hist.lat, [C[0], C[1]], {});
  draw($('c-evict'), hist.evict, [C[3], C[2], C[1]], {});
  $('shards').innerHTML = shards.map((x) => {
    const pct = x.hot.maxBytes ? Math.min(100, (100 * x.hot.bytes) / x.hot.maxBytes) : 0;
    const ev = Object.values(x.evictions).reduce((a, b) => a + b, 0);
    return '<tr><td>' + x.shard + (x.open ? '' : ' <span class="bad">down</span>') + '</td><td>' + fmtBytes(x.hot.bytes) + '</td><td><div class="bar"><div style="width:' + pct.toFixed(1) + '%"></div></div></td><td>' +
      fmtNum(x.hot.items) + '</td><td>' + fmtNum(x.cold.items) + '</td><td>' + fmtBytes(x.cold.bytes) + '</td><td>' + fmtNum(x.hits.hot) + '</td><td>' + fmtNum(x.hits.cold) + '</td><td>' +
      fmtNum(x.misses) + '</td><td>' + fmtNum(ev) + '</td><td>' + fmtNum(x.restores) + '</td></tr>';
  }).join('');
}

const escHtml = (v) => String(v).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
function renderHot(s) {
  const hot = s.hotKeys || [];
  const top = hot.length ? hot[0].count : 1;
  $('hot-rate').textContent = s.hotKeyRate ? '(1 access in ' + s.hotKeyRate + ' sampled)' : '(tracking off)';
  $('hotkeys').innerHTML = hot.length === 0 ? '<tr><td colspan="4" class="dim">no accesses sampled yet</td></tr>' : hot.map((h) =>
    '<tr><td title="' + (h.binary ? 'base64' : '') + '">' + escHtml(h.key) + '</td><td>' + h.shard + '</td><td>' + fmtNum(h.count) +
    '</td><td><div class="bar"><div style="width:' + ((100 * h.count) / top).toFixed(1) + '%"></div></div></td></tr>').join('');
  const bins = s.valueSizes || [];
  const most = Math.max(1, ...bins);
  const label = (i) => i === 0 ? '0' : fmtBytes(2 ** (i - 1)) + ' – ' + fmtBytes(2 ** i - 1);
  $('sizes').innerHTML = bins.map((n, i) => n === 0 ? '' : '<tr><td>' + label(i) + '</td><td>' + fmtNum(n) +
    '</td><td><div class="bar"><div style="width:' + ((100 * n) / most).toFixed(1) + '%"></div></div></td></tr>').join('');
}
async function poll() {
  try {
    const r = await fetch('/stats.json', { cache: 'no-store', credentials: 'same-origin' });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const s = await r.json();
    render(s);
    renderHot(s);
    document.body.dataset.updated = String(Date.now());
  } catch (err) {
    $('status').textContent = '● ' + err.message; $('status').className = 'bad';
  }
}
poll();
setInterval(poll, 1000);

// live key events through the browser SDK
const list = $('events');
function showEvent(ev) {
  const li = document.createElement('li');
  li.innerHTML = '<span class="ev ev-' + ev.event + '"></span><span class="k"></span>';
  li.firstChild.textContent = ev.event;
  li.lastChild.textContent = ev.keyString;
  list.prepend(li);
  while (list.children.length > 200) list.lastChild.remove();
}
async function feed(password) {
  const { createClient } = await import('/cairn-client.js');
  try {
    const client = await createClient({ url: (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws', password, name: 'dashboard' });
    await client.subscribe({ prefix: '' }, showEvent);
    $('auth').style.display = 'none';
    window.cairnDashboardClient = client;
  } catch (err) {
    if (err && err.code === 'CAIRN_ERR_AUTH') { $('auth').style.display = 'flex'; return; }
    const li = document.createElement('li'); li.textContent = 'event feed unavailable: ' + err.message; list.prepend(li);
  }
}
$('pw-go').onclick = () => feed($('pw').value);
feed(undefined);
</script>
</body>
</html>
`;
