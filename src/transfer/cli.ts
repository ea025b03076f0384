/**
 * The `cairn export` and `cairn import` subcommands: argument parsing and summaries. The work is in
 * export.ts, import.ts and migrate.ts.
 */
import { parseArgs } from 'node:util';
import { isCairnError } from '../errors.js';
import { exportCairn } from './export.js';
import { TransferError } from './format.js';
import { importFile, type ImportSummary } from './import.js';
import { migrate } from './migrate.js';
import { defaultWorkers } from './pool.js';

export const EXPORT_USAGE = `Usage: cairn export --out FILE [--host HOST] [--port PORT] [--password PW] [options]

Writes every key of a running cairn (both tiers), strings and collections, with its flags and
absolute expiry to FILE, a stream of msgpack records (docs/transfer.md); FILE ending in .gz is
gzip-compressed; - is stdout. The file is written as FILE.partial and renamed when complete.

  --workers N      encoding threads (default ${defaultWorkers()}; 0 encodes on the main thread)
  --gzip-level N   1 (fast) to 9 (small), default 6
  --quiet          no progress display
Environment: CAIRN_HOST, CAIRN_PORT, CAIRN_PASSWORD.`;

export const IMPORT_USAGE = `Usage: cairn import FILE [--host HOST] [--port PORT] [--password PW] [--replace | --nx] [options]
       cairn import --from redis://[user:pw@]HOST[:PORT][/DB] [--match PATTERN] [--replace | --nx]
       cairn import --from memcached://HOST[:PORT] [--replace | --nx]

Writes the keys of an export file (gzip or not), a running Redis (strings, hashes, lists, sets and
sorted sets, with their TTLs) or a running memcached (with flags and expiry) into a running cairn.
Expired records are skipped.
FILE may be gzip-compressed (detected by its first bytes); - reads standard input, so
  cairn export --out - --port 7379 | cairn import - --port 8379
copies one server into another.

  --replace        an imported key overwrites the target's key of the same name
  --nx             the target's existing keys are kept
                   (with neither, a target that holds any key is refused)
  --match PATTERN  Redis: only keys matching the glob (SCAN MATCH)
  --workers N      decoding threads for a file (default ${defaultWorkers()}; 0 decodes on the main thread)
  --quiet          no progress display
Environment: CAIRN_HOST, CAIRN_PORT, CAIRN_PASSWORD.`;

const fmt = new Intl.NumberFormat('en-US');

interface Common {
  host: string;
  port: number;
  password?: string;
  workers?: number;
  progress: boolean;
}

function common(values: Record<string, string | boolean | undefined>): Common | string {
  const port = Number(values.port ?? process.env.CAIRN_PORT ?? 7379);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return `bad --port '${String(values.port ?? process.env.CAIRN_PORT)}'`;
  let workers: number | undefined;
  if (values.workers !== undefined) {
    workers = Number(values.workers);
    if (!Number.isInteger(workers) || workers < 0 || workers > 64) return `bad --workers '${String(values.workers)}' (0–64)`;
  }
  return {
    host: (values.host as string | undefined) ?? process.env.CAIRN_HOST ?? '127.0.0.1',
    port,
    password: (values.password as string | undefined) ?? (process.env.CAIRN_PASSWORD || undefined),
    workers,
    progress: values.quiet !== true,
  };
}

const COMMON_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  password: { type: 'string', short: 'a' },
  workers: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

function fail(command: string, err: unknown): number {
  if (err instanceof TransferError) console.error(`cairn ${command}: ${err.message}`);
  else if (isCairnError(err)) console.error(`cairn ${command}: ${err.message} (${err.code})`);
  else if (err instanceof Error && !/^(TypeError|RangeError|ReferenceError|SyntaxError)$/.test(err.name)) console.error(`cairn ${command}: ${err.message}`);
  else console.error(`cairn ${command}: ${err instanceof Error ? err.stack : String(err)}`);
  return 1;
}

export async function runExportCli(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, out: { type: 'string', short: 'o' }, 'gzip-level': { type: 'string' } },
      allowPositionals: false,
    }));
  } catch (err) {
    console.error(`cairn export: ${(err as Error).message}\n\n${EXPORT_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(EXPORT_USAGE);
    return 0;
  }
  const c = common(values);
  if (typeof c === 'string') {
    console.error(`cairn export: ${c}`);
    return 2;
  }
  const out = values.out as string | undefined;
  if (!out) {
    console.error(`cairn export: --out FILE is required\n\n${EXPORT_USAGE}`);
    return 2;
  }
  const level = values['gzip-level'] === undefined ? undefined : Number(values['gzip-level']);
  if (level !== undefined && !(Number.isInteger(level) && level >= 1 && level <= 9)) {
    console.error(`cairn export: bad --gzip-level '${String(values['gzip-level'])}' (1–9)`);
    return 2;
  }
  try {
    const s = await exportCairn({ ...c, out, gzipLevel: level });
    const say = out === '-' ? console.error : console.log;
    const rate = s.ms > 0 ? Math.round((s.records / s.ms) * 1000) : 0;
    say(`exported ${fmt.format(s.records)} keys to ${s.file} (${fmt.format(s.bytes)} bytes) in ${(s.ms / 1000).toFixed(1)} s, ${fmt.format(rate)} keys/s`);
    const collections = byType(s.collections, 'collections');
    if (collections !== '') say(`  of them ${collections}`);
    if (s.duplicates > 0) say(`  ${fmt.format(s.duplicates)} keys the scan returned twice were written once`);
    if (s.vanished > 0) say(`  ${fmt.format(s.vanished)} keys were deleted or expired while the export ran`);
    if (s.dedupeOverflow)
      say('  a shard held more keys than the duplicate filter remembers: a few keys may be in the file twice (import keeps the later record)');
    return 0;
  } catch (err) {
    return fail('export', err);
  }
}

/** counts by type as "3 <what> (hash: 2, list: 1)"; "" for none */
function byType(counts: Record<string, number> | undefined, what: string): string {
  const list = Object.entries(counts ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (list.length === 0) return '';
  const total = list.reduce((n, [, c]) => n + c, 0);
  return `${fmt.format(total)} ${what} (${list.map(([t, c]) => `${t}: ${fmt.format(c)}`).join(', ')})`;
}

function printImport(s: ImportSummary): void {
  const rate = s.ms > 0 ? Math.round((s.stored / s.ms) * 1000) : 0;
  console.log(`imported ${fmt.format(s.stored)} keys from ${s.source} in ${(s.ms / 1000).toFixed(1)} s, ${fmt.format(rate)} keys/s`);
  const collections = byType(s.collections, 'collections');
  if (collections !== '') console.log(`  of them ${collections}`);
  if (s.existing > 0) console.log(`  ${fmt.format(s.existing)} keys already in the target were kept (--nx)`);
  if (s.expired > 0) console.log(`  ${fmt.format(s.expired)} expired records were skipped`);
  if (s.superseded) console.log(`  ${fmt.format(s.superseded)} records were superseded by a later record of the same key`);
  if (s.vanished) console.log(`  ${fmt.format(s.vanished)} keys were gone from the source by the time they were read`);
  const skipped = byType(s.skippedTypes, 'keys of other types');
  if (skipped !== '') console.log(`  skipped ${skipped}: the import from Redis reads strings, hashes, lists, sets and sorted sets`);
  if (s.failed > 0) {
    console.error(`cairn import: the target refused ${fmt.format(s.failed)} keys:`);
    for (const f of s.failures) console.error(`  ${f}`);
    if (s.failed > s.failures.length) console.error(`  ... and ${fmt.format(s.failed - s.failures.length)} more`);
  }
}

export async function runImportCli(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        ...COMMON_OPTIONS,
        from: { type: 'string' },
        match: { type: 'string' },
        replace: { type: 'boolean' },
        nx: { type: 'boolean' },
      },
      allowPositionals: true,
    }));
  } catch (err) {
    console.error(`cairn import: ${(err as Error).message}\n\n${IMPORT_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(IMPORT_USAGE);
    return 0;
  }
  const c = common(values);
  if (typeof c === 'string') {
    console.error(`cairn import: ${c}`);
    return 2;
  }
  if (values.replace && values.nx) {
    console.error('cairn import: --replace and --nx exclude each other');
    return 2;
  }
  const from = values.from as string | undefined;
  if ((from === undefined) === (positionals.length === 0) || positionals.length > 1) {
    console.error(`cairn import: give one FILE or --from URL\n\n${IMPORT_USAGE}`);
    return 2;
  }
  if (values.match !== undefined && from === undefined) {
    console.error('cairn import: --match applies to --from redis://');
    return 2;
  }
  const mode = values.replace ? ('replace' as const) : values.nx ? ('nx' as const) : undefined;
  try {
    const s =
      from !== undefined
        ? await migrate({ ...c, mode, from, match: values.match as string | undefined })
        : await importFile({ ...c, mode, file: positionals[0] });
    printImport(s);
    return s.failed > 0 ? 1 : 0;
  } catch (err) {
    return fail('import', err);
  }
}
