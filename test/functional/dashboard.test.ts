/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core opens `/`, the page
 * loads the browser SDK bundle from the gateway, subscribes to key events over WebSocket and polls
 * /stats.json. A key set through the SDK must show up in the page's figures and its event feed.
 * The screenshot lands in test/.tmp/dashboard.png.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnClient, tcpTransport } from '../../src/client/index.js';
import { packageRoot } from '../../src/paths.js';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// CI installs chromium (.ci/run); elsewhere a machine without it skips rather than fails.
describe.skipIf(!haveChromium && !process.env.CI)('dashboard in headless chromium', () => {
  let server: TestServer;
  let context: BrowserContext;
  let profile: string;
  let client: CairnClient;
  let load: Promise<void> | null = null;
  let loading = true;

  beforeAll(async () => {
    server = await startServer({ args: ['--max-memory', '4mb'] });
    client = new CairnClient({ host: '127.0.0.1', port: server.port, transport: tcpTransport(), reconnect: false });
    await client.connect();
    profile = tempDir('cairn-chromium-');
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 1000 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    loading = false;
    await load;
    await context?.close();
    await client?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (server) expect(await server.stop()).toBe(0);
  });

  it('shows a key set through the SDK, and live charts', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`http://127.0.0.1:${server.httpPort}/`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.includes('ready'), null, { timeout: 15_000 });
    // the event feed is on once the page's SDK client has subscribed
    await page.waitForFunction(() => (window as unknown as { cairnDashboardClient?: unknown }).cairnDashboardClient !== undefined, null, {
      timeout: 15_000,
    });
    expect(await page.textContent('#t-hot-items')).toBe('0');

    await client.set('dashboard:hello', 'world');
    await page.waitForFunction(() => document.getElementById('events')?.textContent?.includes('dashboard:hello'), null, { timeout: 10_000 });
    expect(await page.textContent('#events li:first-child')).toBe('setdashboard:hello');
    await page.waitForFunction(() => Number(document.getElementById('t-hot-items')?.textContent) >= 1, null, { timeout: 10_000 });

    // traffic for the charts while the page watches: writes past the memory budget (evictions),
    // reads of older keys (restores from disk) and of missing ones
    load = (async () => {
      const value = Buffer.alloc(4096, 120);
      for (let round = 0; loading && round < 200; round++) {
        const writes = Array.from({ length: 200 }, (_, i) => client.set(`load:${round}:${i}`, value));
        const reads = Array.from({ length: 300 }, (_, i) => client.get(`load:${Math.floor(Math.random() * (round + 1))}:${i % 220}`));
        await Promise.all([...writes, ...reads]);
        await sleep(50);
      }
    })();
    await sleep(6000);
    await page.waitForFunction(() => Number(document.getElementById('t-ops')?.textContent?.replace(/[^0-9.]/g, '')) > 0, null, { timeout: 10_000 });
    expect(await page.textContent('#t-evict')).not.toBe('–');
    expect(await page.locator('#shards tr').count()).toBe(2);

    const dir = join(packageRoot, 'test', '.tmp');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'dashboard.png'), fullPage: true });
    expect(existsSync(join(dir, 'dashboard.png'))).toBe(true);
    loading = false;
    await load;
    expect(errors).toEqual([]);
  });
});
