/**
 * The admin UI against the real service (startApp: real TSDB, scrape engine, dump
 * builder, file store) in headless Chromium: log in, see the real targets, create a
 * dump of the last hour, watch it finish, download it through the UI, check the
 * archive with promtool, delete it.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApp, type App } from '../../src/app.js';
import { testAppSettings } from '../support/app-settings.js';
import { TargetServer, mattermostTarget } from '../support/target-server.js';

const TOKEN = 'ui-real-admin-token-0123456789abcdef';

describe('admin UI on the real service', () => {
  let dir: string;
  let server: TargetServer;
  let app: App;
  let browser: Browser;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-ui-real-'));
    server = await TargetServer.start();
    server.define('/metrics', mattermostTarget({ series: 200, seed: 3 }));
    const dataDir = join(dir, 'data');
    app = await startApp(
      testAppSettings(dataDir, [server.url('/metrics')], TOKEN),
      pino({ level: 'silent' }),
    );
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    await new Promise((r) => setTimeout(r, 3000));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('log in, create a dump of the last hour, watch it finish, download and check it, delete it', async () => {
    const ctx = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 860 } });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(app.url);
    await page.fill('#token', TOKEN);
    await page.click('#login-submit');
    await page.locator('#dumps-view').waitFor({ state: 'visible' });

    await page.click('#nav-targets');
    await expect.poll(() => page.locator('#targets-body tr[data-health="up"]').count(), { timeout: 15_000 }).toBe(2);

    await page.click('#nav-dumps');
    await page.click('#new-dump');
    await page.check('#presets input[value="hour"]');
    await expect.poll(() => page.textContent('#estimate'), { timeout: 15_000 }).toMatch(/^Estimated size: about/);
    await page.click('#create-submit');
    const row = page.locator('#jobs-body tr').first();
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('success');

    const [dl] = await Promise.all([page.waitForEvent('download'), row.locator('button[data-action="download"]').click()]);
    const bytes = await readFile(await dl.path());
    const shaShown = await row.locator('code').textContent();
    expect(createHash('sha256').update(bytes).digest('hex').startsWith(shaShown ?? 'x')).toBe(true);
    const out = join(dir, 'x');
    await mkdir(out);
    execFileSync('tar', ['xzf', '-', '-C', out], { input: bytes });
    const dump = execFileSync('promtool', ['tsdb', 'dump', join(out, 'data')], { encoding: 'utf8', maxBuffer: 256 << 20 });
    expect(dump).toMatch(/\{__name__="up", instance="127\.0\.0\.1:\d+", job="prometheus"\} 1 \d+/);

    await row.locator('button[data-action="delete"]').click();
    await page.click('#confirm-ok');
    await page.locator('#jobs-empty').waitFor({ state: 'visible' });
    expect(errors).toEqual([]);
    await ctx.close();
  }, 90_000);
});
