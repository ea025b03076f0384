/**
 * vitest's v8 coverage, plus the code the servers that the tests start run: `node dist/src/cli.js`
 * child processes and their shard and gateway threads, which vitest's own provider cannot see.
 *
 * The test workers hand NODE_V8_COVERAGE to every process they spawn (test/helpers/child-coverage.ts),
 * so each child process and each of its threads writes its V8 coverage when it exits (a child killed
 * with SIGKILL writes none). Here those files' scripts under dist/ are mapped back to src/ through the
 * compiler's source maps and merged into vitest's report, so the report, the summary and the floor
 * (vitest.config.ts, coverage.thresholds) count both.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from '@vitest/coverage-v8';

/** where the spawned processes write their raw V8 coverage */
export const CHILD_COVERAGE_ENV = 'CAIRN_CHILD_V8_COVERAGE';

interface FunctionCoverage {
  functionName: string;
  ranges: { startOffset: number; endOffset: number; count: number }[];
  isBlockCoverage: boolean;
}
interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: FunctionCoverage[];
}
interface ProcessCoverage {
  result: ScriptCoverage[];
}

async function childCoverageProvider() {
  const { V8CoverageProvider } = await import('@vitest/coverage-v8/dist/provider.js');
  const { mergeProcessCovs } = await import('@bcoe/v8-coverage');

  class ChildCoverageProvider extends V8CoverageProvider {
    private childDir = '';

    override initialize(ctx: Parameters<InstanceType<typeof V8CoverageProvider>['initialize']>[0]): void {
      super.initialize(ctx);
      this.childDir = join(this.options.reportsDirectory, '.children');
      rmSync(this.childDir, { recursive: true, force: true });
      mkdirSync(this.childDir, { recursive: true });
      // forked test workers inherit it; the setup file passes it on to their children as NODE_V8_COVERAGE
      process.env[CHILD_COVERAGE_ENV] = this.childDir;
    }

    override async generateCoverage(context: Parameters<InstanceType<typeof V8CoverageProvider>['generateCoverage']>[0]) {
      const map = await super.generateCoverage(context);
      const dist = `file://${join(this.ctx.config.root, 'dist')}/`;
      let merged: ProcessCoverage = { result: [] };
      const files = existsSync(this.childDir) ? readdirSync(this.childDir).filter((f) => f.endsWith('.json')) : [];
      for (const file of files) {
        let raw: ProcessCoverage;
        try {
          raw = JSON.parse(readFileSync(join(this.childDir, file), 'utf8')) as ProcessCoverage;
        } catch {
          continue; // a file cut short by a process that died while writing it
        }
        const result = raw.result.filter((s) => s.url.startsWith(dist));
        if (result.length > 0) merged = mergeProcessCovs([merged, { result }]) as ProcessCoverage;
      }
      for (const script of merged.result) {
        const path = fileURLToPath(script.url);
        const mapPath = `${path}.map`;
        if (!existsSync(path) || !existsSync(mapPath)) continue;
        const code = readFileSync(path, 'utf8');
        const sourceMap = JSON.parse(readFileSync(mapPath, 'utf8')) as { sources: string[] };
        sourceMap.sources = sourceMap.sources.map((s) => new URL(s, script.url).href);
        const fileCoverage = await this.remapCoverage(script.url, 0, { code, map: sourceMap }, script.functions);
        map.merge(fileCoverage);
      }
      map.filter((file: string) => this.isIncluded(file));
      rmSync(this.childDir, { recursive: true, force: true });
      return map;
    }
  }
  return new ChildCoverageProvider();
}

export default {
  ...v8,
  getProvider: childCoverageProvider,
};
