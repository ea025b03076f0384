#!/usr/bin/env node
/**
 * node profiles/doctor-summary.mjs DIR.clinic-doctor
 *
 * Prints what clinic doctor concluded from a collected run (the issue category it would show on its
 * HTML page, and which of its detectors fired), plus the averages of what it sampled during the
 * benchmark interval it detected: CPU, event-loop delay, event-loop utilization, heap and handles.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
let dir = process.argv[2];
if (!dir) {
  console.error('usage: node profiles/doctor-summary.mjs <dir>.clinic-doctor');
  process.exit(2);
}
dir = resolve(dir);
if (!existsSync(dir)) {
  console.error(`${dir}: not found`);
  process.exit(2);
}
const doctorDir = require.resolve('@clinic/doctor/package.json').replace(/package\.json$/, '');
const pumpify = require('pumpify');
const fs = require('node:fs');
const getLoggingPaths = require('@clinic/clinic-common').getLoggingPaths('doctor');
const SystemInfoDecoder = require(join(doctorDir, 'format/system-info-decoder.js'));
const TraceEventDecoder = require(join(doctorDir, 'format/trace-event-decoder.js'));
const ProcessStatDecoder = require(join(doctorDir, 'format/process-stat-decoder.js'));
const Analysis = require(join(doctorDir, 'analysis/index.js'));

const paths = getLoggingPaths({ path: dir });
const reader = (file, decoder) => pumpify.obj(fs.createReadStream(file), decoder);

// the samples, for our own averages
const samples = [];
await new Promise((res, rej) => reader(paths['/processstat'], new ProcessStatDecoder()).on('data', (s) => samples.push(s)).on('end', res).on('error', rej));

// doctor's own analysis (the readers are made together, as clinic does: the trace decoder shares the system info stream)
const analysis = await new Promise((res, rej) => {
  const systemInfo = reader(paths['/systeminfo'], new SystemInfoDecoder());
  const traceEvents = reader(paths['/traceevent'], new TraceEventDecoder(systemInfo));
  const processStat = reader(paths['/processstat'], new ProcessStatDecoder());
  const a = new Analysis(systemInfo, traceEvents, processStat);
  a.on('data', res);
  a.on('error', rej);
});

const [from, to] = analysis.interval;
const inside = samples.filter((s) => s.timestamp >= from && s.timestamp <= to);
const mean = (xs) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : NaN);
const max = (xs) => (xs.length ? Math.max(...xs) : NaN);
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;

console.log(`clinic doctor: ${dir}`);
console.log(`  issue category: ${analysis.issueCategory}`);
const flags = [];
const walk = (prefix, v) => {
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
  else flags.push(`${prefix}=${v}`);
};
walk('', analysis.issues);
console.log(`  detectors: ${flags.join(', ')}`);
console.log(`  benchmark interval: ${((to - from) / 1000).toFixed(1)} s, ${inside.length} samples`);
if (inside.length) {
  console.log(`  cpu: mean ${(mean(inside.map((s) => s.cpu)) * 100).toFixed(0)} %, max ${(max(inside.map((s) => s.cpu)) * 100).toFixed(0)} % (100 % = one core)`);
  console.log(`  event-loop delay: mean ${mean(inside.map((s) => s.delay)).toFixed(1)} ms, max ${max(inside.map((s) => s.delay)).toFixed(1)} ms`);
  const elu = inside.map((s) => s.loopUtilization).filter((x) => typeof x === 'number');
  if (elu.length) console.log(`  event-loop utilization: mean ${mean(elu).toFixed(0)} %`);
  console.log(`  heap used: mean ${mb(mean(inside.map((s) => s.memory.heapUsed)))}, max ${mb(max(inside.map((s) => s.memory.heapUsed)))}; rss max ${mb(max(inside.map((s) => s.memory.rss)))}`);
  console.log(`  handles: mean ${mean(inside.map((s) => s.handles)).toFixed(0)}`);
}
