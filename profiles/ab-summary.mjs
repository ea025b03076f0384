// Puts the JSON lines of an A/B run (profiles/ab.sh) side by side: for every numeric field both
// sides printed, base, new and new ÷ base, averaged over the rounds.
//   node profiles/ab-summary.mjs profiles/out/ab-<stamp>
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: node profiles/ab-summary.mjs <ab output dir>');

/** the last line of a log that parses as a JSON object, flattened to dotted numeric fields */
function figures(file) {
  const lines = readFileSync(file, 'utf8').trim().split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const out = {};
      flatten(JSON.parse(line), '', out);
      return out;
    } catch {}
  }
  return {};
}

function flatten(value, prefix, out) {
  if (typeof value === 'number' && Number.isFinite(value)) out[prefix] = value;
  else if (Array.isArray(value)) value.forEach((v, i) => flatten(v, `${prefix}[${rowName(v, i)}]`, out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
}

/** rows of result arrays are named by their identifying fields, so both sides line up */
function rowName(v, i) {
  if (!v || typeof v !== 'object') return String(i);
  const id = ['target', 'name', 'op', 'shards', 'depth', 'pipeline', 'test'].filter((k) => k in v && typeof v[k] !== 'object').map((k) => `${k}=${v[k]}`);
  return id.length > 0 ? id.join(',') : String(i);
}

const byBench = new Map();
for (const file of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
  const [side, bench] = file.replace(/\.log$/, '').split('-');
  const entry = byBench.get(bench) ?? { base: [], new: [] };
  entry[side].push(figures(join(dir, file)));
  byBench.set(bench, entry);
}

const mean = (runs, key) => {
  const vs = runs.map((r) => r[key]).filter((v) => v !== undefined);
  return vs.length === 0 ? undefined : vs.reduce((a, b) => a + b, 0) / vs.length;
};
const fmt = (v) => (v === undefined ? '–' : Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3));

process.stdout.write(readFileSync(join(dir, 'refs.txt'), 'utf8'));
for (const [bench, runs] of byBench) {
  process.stdout.write(`\n${bench} (${runs.base.length} base, ${runs.new.length} new runs)\n`);
  const keys = [...new Set([...runs.base, ...runs.new].flatMap((r) => Object.keys(r)))].sort();
  for (const key of keys) {
    const b = mean(runs.base, key);
    const n = mean(runs.new, key);
    const ratio = b !== undefined && n !== undefined && b !== 0 ? (n / b).toFixed(2) : '';
    process.stdout.write(`  ${key.padEnd(60)} ${fmt(b).padStart(12)} ${fmt(n).padStart(12)}  ${ratio}\n`);
  }
}
