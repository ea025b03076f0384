#!/usr/bin/env node
import { isCairnError } from './errors.js';
import { helpText, loadConfig } from './config.js';
import { VERSION } from './version.js';

const USAGE = `cairn ${VERSION} — a sharded cache server whose evicted keys spill to LevelDB

Usage:
  cairn serve [options]         start the server (cairn serve --help lists the options)
  cairn cli [options] [command] talk to a server: one command, or an interactive prompt
  cairn repair --data <dir>     repair damaged LevelDB shard directories (server stopped; back up first)
  cairn export --out FILE       write every key (both tiers, TTLs, flags) to an export file
  cairn import FILE             load an export file into a server (cairn import --help)
  cairn import --from URL       copy a running Redis (redis://) or memcached (memcached://) into a server
  cairn --version               print the version
`;

async function serve(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText());
    return 0;
  }
  const config = loadConfig(argv);
  const { startServer } = await import('./server/server.js');
  // The handlers are installed before any port listens: a signal that comes while the server starts
  // (a port may already answer, and acknowledge writes) closes it gracefully once it has started,
  // instead of killing the process with those writes in memory only.
  let stopping = false;
  const starting = startServer(config);
  const stop = (signal: string): void => {
    if (stopping) {
      console.error(`cairn: ${signal} again, exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    console.log(`cairn: ${signal}: closing (finishing in-flight requests, flushing to disk)`);
    starting
      .then((server) => server.close())
      .then(
        () => {
          console.log('cairn: closed');
          process.exit(0);
        },
        (err: unknown) => {
          console.error(`cairn: close failed: ${(err as Error).message}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  await starting;
  return -1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'repair': {
      const { runRepairCli } = await import('./cli/repair-cli.js');
      return runRepairCli(rest);
    }
    case 'cli': {
      const { runClientCli } = await import('./cli/client-cli.js');
      return runClientCli(rest);
    }
    case 'export': {
      const { runExportCli } = await import('./transfer/cli.js');
      return runExportCli(rest);
    }
    case 'import': {
      const { runImportCli } = await import('./transfer/cli.js');
      return runImportCli(rest);
    }
    case '--version':
    case '-v':
      console.log(VERSION);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      console.error(`cairn: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`cairn: ${isCairnError(err) ? `${err.message} (${err.code})` : err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
