/**
 * vitest setup file: when coverage is measured, the processes a test spawns (servers, CLIs) write
 * their V8 coverage too, for test/helpers/coverage-provider.ts to merge into the report.
 */
const dir = process.env.CAIRN_CHILD_V8_COVERAGE;
if (dir) process.env.NODE_V8_COVERAGE = dir;
