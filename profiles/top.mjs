#!/usr/bin/env node
/**
 * Top self-time functions of CPU profiles.
 *
 *   node profiles/top.mjs [--top N] [--json] [--idle NAME]... FILE_OR_DIR...
 *
 * Accepts V8 .cpuprofile files (node --cpu-prof writes one per thread) and clinic flame sample
 * files (*.clinic-flame-samples, inside a .clinic-flame directory). A directory is searched for
 * both. For each profile it prints the thread it came from (main = the acceptor; a worker is named
 * by its entry script, e.g. workers/shard.js), its sampled time, and the functions with the most
 * self time: ms, % of all samples, % of the busy samples, and where the function is.
 *
 * "Busy" leaves out V8's (idle) and (program) and any function named with --idle: a thread blocked
 * in Atomics.wait is charged to the JS function that called it (in cairn, waitBlocking in
 * src/hop/ring.ts, where a shard sleeps until the acceptor rings), which is waiting, not work.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

const argv = process.argv.slice(2);
let top = 10;
let json = false;
const extraIdle = [];
const inputs = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--top') top = Number(argv[++i]);
  else if (argv[i] === '--json') json = true;
  else if (argv[i] === '--idle') extraIdle.push(argv[++i]);
  else if (argv[i] === '-h' || argv[i] === '--help') {
    console.log('usage: node profiles/top.mjs [--top N] [--json] FILE.cpuprofile|DIR ...');
    process.exit(0);
  } else inputs.push(argv[i]);
}
if (!inputs.length) {
  console.error('usage: node profiles/top.mjs [--top N] [--json] FILE.cpuprofile|DIR ...');
  process.exit(2);
}

function collect(path, out) {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) collect(join(path, name), out);
  } else if (path.endsWith('.cpuprofile') || path.endsWith('.clinic-flame-samples')) {
    out.push(path);
  }
  return out;
}

const IDLE = new Set(['(idle)', '(program)', ...extraIdle]);
const cwd = process.cwd();

function where(url, line) {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(cwd)) u = relative(cwd, u);
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) u = u.slice(nm);
  return line >= 0 ? `${u}:${line + 1}` : u;
}

/** V8 .cpuprofile: {nodes:[{id, callFrame:{functionName,url,lineNumber}, children}], samples:[id], timeDeltas:[µs]} */
function summariseCpuProfile(file) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  let totalUs = 0;
  // timeDeltas[i] is the time before sample i; charge it to sample i (as Chrome DevTools does)
  for (let i = 0; i < p.samples.length; i++) {
    const dt = Math.max(0, p.timeDeltas?.[i] ?? 0);
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + dt);
    totalUs += dt;
  }
  const fns = new Map();
  let idleUs = 0;
  let role = null;
  for (const n of p.nodes) {
    const cf = n.callFrame;
    const m = /\/(workers\/[\w.-]+)\.js$/.exec(cf.url ?? '');
    if (m && !role) role = `${m[1]}.js`;
    const us = selfUs.get(n.id) ?? 0;
    if (!us) continue;
    const name = cf.functionName || (cf.url ? '(anonymous)' : '(root)');
    if (IDLE.has(name)) idleUs += us;
    const key = `${name}\u0000${cf.url}\u0000${cf.lineNumber}`;
    const f = fns.get(key) ?? { name, where: where(cf.url, cf.lineNumber), us: 0 };
    f.us += us;
    fns.set(key, f);
  }
  // node --cpu-prof names files CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main thread
  const tid = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(basename(file));
  const thread = tid ? (tid[2] === '0' ? 'main thread (acceptor)' : `worker thread ${tid[2]}${role ? ` (${role})` : ''}`) : role ?? 'profile';
  void byId;
  return { file, thread, totalMs: totalUs / 1000, idleMs: idleUs / 1000, functions: [...fns.values()].map((f) => ({ ...f, ms: f.us / 1000 })) };
}

/** clinic flame samples: a JSON array of stacks (root first), one per sample; the leaf has the self time */
function summariseFlame(file) {
  const stacks = JSON.parse(readFileSync(file, 'utf8'));
  const fns = new Map();
  let idle = 0;
  let total = 0;
  for (const stack of stacks) {
    total++;
    const leaf = stack[stack.length - 1];
    if (!leaf) {
      idle++;
      continue;
    }
    const name = leaf.name.trim();
    const key = `${leaf.type}\u0000${name}`;
    const f = fns.get(key) ?? { name: leaf.type === 'JS' ? name.replace(/ (\S+):(\d+):\d+$/, '') : name, where: leaf.type === 'JS' ? where(/ (\S+):(\d+):\d+$/.exec(name)?.[1] ?? '', Number(/:(\d+):\d+$/.exec(name)?.[1] ?? 0) - 1) : leaf.type, us: 0 };
    f.us += 1;
    fns.set(key, f);
  }
  // samples are taken about every millisecond; report counts as "samples" rather than ms
  return { file, thread: 'main thread (clinic flame, --inline)', totalMs: total, idleMs: idle, unit: 'samples', functions: [...fns.values()].map((f) => ({ ...f, ms: f.us })) };
}

const files = inputs.flatMap((p) => collect(p, []));
if (!files.length) {
  console.error(`no .cpuprofile or .clinic-flame-samples under ${inputs.join(' ')}`);
  process.exit(1);
}
const reports = files.map((f) => (f.endsWith('.cpuprofile') ? summariseCpuProfile(f) : summariseFlame(f)));
// main thread first, then workers by id
reports.sort((a, b) => (a.thread.startsWith('main') ? -1 : b.thread.startsWith('main') ? 1 : a.thread.localeCompare(b.thread, 'en', { numeric: true })));

if (json) {
  console.log(
    JSON.stringify(
      reports.map((r) => ({
        file: r.file,
        thread: r.thread,
        totalMs: r.totalMs,
        idleMs: r.idleMs,
        top: r.functions
          .sort((a, b) => b.ms - a.ms)
          .slice(0, top)
          .map(({ name, where: w, ms }) => ({ name, where: w, ms, pctAll: (ms / r.totalMs) * 100, pctBusy: IDLE.has(name) ? null : (ms / Math.max(1e-9, r.totalMs - r.idleMs)) * 100 })),
      })),
      null,
      2,
    ),
  );
} else {
  for (const r of reports) {
    const unit = r.unit === 'samples' ? 'samples' : 'ms';
    const busy = r.totalMs - r.idleMs;
    console.log(`\n== ${r.thread}: ${relative(cwd, r.file)}`);
    console.log(`   ${Math.round(r.totalMs)} ${unit} sampled, ${((busy / Math.max(1, r.totalMs)) * 100).toFixed(0)} % busy (not ${[...IDLE].join(', ')})`);
    console.log(`   ${'self'.padStart(8)} ${'% all'.padStart(6)} ${'% busy'.padStart(6)}  function (location)`);
    for (const f of r.functions.sort((a, b) => b.ms - a.ms).slice(0, top)) {
      const pctAll = (f.ms / Math.max(1e-9, r.totalMs)) * 100;
      const pctBusy = IDLE.has(f.name) ? NaN : (f.ms / Math.max(1e-9, busy)) * 100;
      console.log(`   ${f.ms.toFixed(unit === 'ms' ? 1 : 0).padStart(8)} ${pctAll.toFixed(1).padStart(6)} ${Number.isNaN(pctBusy) ? '     -' : pctBusy.toFixed(1).padStart(6)}  ${f.name}${f.where ? ` (${f.where})` : ''}`);
    }
  }
}
