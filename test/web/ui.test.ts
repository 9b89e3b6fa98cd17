/**
 * The admin UI end to end in real headless Chromium against the real API stack
 * (file JobStore, JobRunner, a builder writing real tar.gz files).
 * MM_SCREENSHOTS=1 saves screenshots to docs/screenshots/.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BASE_PATH } from '../../src/api/server.js';
import { dumpDir } from '../../src/jobs/paths.js';
import { HOUR, mmUser, startHarness, startMattermost, type FakeMattermost, type Harness } from '../api/support/harness.js';
import { waitFor } from '../jobs/support/jobs.js';

const TOKEN = 'ui-admin-token-0123456789abcdef';
const SHOTS = process.env.MM_SCREENSHOTS === '1';
const SHOT_DIR = path.resolve(import.meta.dirname, '../../docs/screenshots');

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  if (SHOTS) await mkdir(SHOT_DIR, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});

/** Stats and targets relative to now, so the UI's "last hour/day" presets hit data. */
function liveData(h: Harness): void {
  const now = Date.now();
  h.stats.value = { min_t: now - 30 * HOUR, max_t: now - 2 * HOUR, num_samples: 48_213_577, num_series: 6_412, num_blocks: 14, head: { min_t: now - 2 * HOUR, max_t: now, num_series: 6_530, num_samples: 1_562_880 } };
  h.targets.splice(0, h.targets.length,
    { scrape_url: 'http://10.0.0.5:8067/metrics', job: 'prometheus', instance: '10.0.0.5:8067', labels: {}, health: 'up', last_scrape: now - 12_000, last_scrape_duration: 0.043, last_samples: 2811, last_error: '' },
    { scrape_url: 'http://10.0.0.6:8067/metrics', job: 'prometheus', instance: '10.0.0.6:8067', labels: {}, health: 'up', last_scrape: now - 9_000, last_scrape_duration: 0.051, last_samples: 2790, last_error: '' },
    { scrape_url: 'http://10.0.0.5:9100/metrics', job: 'node', instance: '10.0.0.5:9100', labels: {}, health: 'down', last_scrape: now - 14_000, last_scrape_duration: 10, last_samples: 0, last_error: 'Get "http://10.0.0.5:9100/metrics": context deadline exceeded' },
  );
}

async function shot(page: Page, name: string): Promise<void> {
  if (SHOTS) await page.screenshot({ path: path.join(SHOT_DIR, `${name}.png`), fullPage: true });
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    // 401/403/422 answers the UI handles itself show up as resource errors; anything else is a bug.
    if (m.type() === 'error' && !/status of (401|403|422)/.test(m.text())) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

describe('admin UI with the static token', () => {
  let h: Harness;
  let ctx: BrowserContext;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    h = await startHarness({ auth: { mode: 'static', token: TOKEN }, builder: { steps: 8, stepMs: 150, payloadBytes: 200_000 } });
    liveData(h);
    ctx = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 860 }, locale: 'en-US', timezoneId: 'Europe/Berlin' });
    page = await ctx.newPage();
    errors = watchErrors(page);
  });
  afterAll(async () => {
    await ctx?.close();
    await h?.close();
  });

  test('the login screen refuses a wrong token and accepts the right one', async () => {
    await page.goto(h.url + BASE_PATH + '/');
    await page.locator('#login-view').waitFor({ state: 'visible' });
    await shot(page, 'login');
    await page.fill('#token', 'not-the-token');
    await page.click('#login-submit');
    await expect.poll(() => page.textContent('#login-error')).toMatch(/Not accepted: invalid admin token/);
    await page.fill('#token', TOKEN);
    await page.click('#login-submit');
    await page.locator('#dumps-view').waitFor({ state: 'visible' });
    expect(await page.evaluate('sessionStorage.getItem("mm-metrics-admin-token")')).toBe(TOKEN);
  });

  test('the stats panel shows the stored data', async () => {
    await expect.poll(() => page.textContent('#stat-samples')).toBe('48,213,577');
    expect(await page.textContent('#stat-series')).toBe('6,412');
    expect(await page.textContent('#stat-blocks')).toBe('14');
    expect(await page.textContent('#stat-head')).toBe('6,530 series1,562,880 samples');
    expect(await page.isVisible('#jobs-empty')).toBe(true);
  });

  test('the targets page lists health, last scrape, duration, samples and the last error', async () => {
    await page.click('#nav-targets');
    await page.locator('#targets-view').waitFor({ state: 'visible' });
    const rows = page.locator('#targets-body tr');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await page.getAttribute('#nav-targets', 'aria-current')).toBe('page');
    const down = page.locator('#targets-body tr[data-health="down"]');
    expect(await down.locator('.badge').textContent()).toBe('Down');
    expect(await down.textContent()).toContain('context deadline exceeded');
    expect(await down.textContent()).toContain('10.00 s');
    expect(await rows.first().textContent()).toContain('43 ms');
    expect(await rows.first().textContent()).toContain('2,811');
    expect(await page.textContent('#targets-summary')).toBe('3 targets · 2 up · 1 down');
    await shot(page, 'targets');
  });

  test('the create dialog shows an estimate, reacts to filters and refuses a range without data', async () => {
    await page.click('#nav-dumps');
    await page.click('#new-dump');
    await page.locator('#create-dialog').waitFor({ state: 'visible' });
    await expect.poll(() => page.textContent('#estimate')).toMatch(/^Estimated size: about 201\.0 kB \(13 blocks, 2,500 series\)$/);
    expect(await page.isEnabled('#create-submit')).toBe(true);
    expect(await page.locator('#instances input').count()).toBe(3);
    await page.check('#presets input[value="hour"]');
    await page.check('#instances input[value="10.0.0.5:8067"]');
    await page.check('#groups input[value="api"]');
    await expect.poll(() => page.textContent('#estimate')).toMatch(/\(1 block, 200 series\)/);
    await expect.poll(() => h.builder.estimates.at(-1)).toMatchObject({ instances: ['10.0.0.5:8067'], groups: ['api'] });
    const est = h.builder.estimates.at(-1)!;
    expect(est.max_t - est.min_t).toBe(HOUR + 59_999);
    await shot(page, 'create-dialog');
    // A custom range long before the data: the API's message is shown and create is disabled.
    await page.fill('#range-from', '2020-01-01T00:00');
    await page.fill('#range-to', '2020-01-02T00:00');
    await expect.poll(() => page.textContent('#estimate')).toMatch(/^no data between 2019-12-31T23:00:00.000Z and 2020-01-01T23:00:59.999Z/);
    expect(await page.isChecked('#presets input[value="custom"]')).toBe(true);
    expect(await page.isEnabled('#create-submit')).toBe(false);
    await page.fill('#range-to', '2019-12-31T00:00');
    await expect.poll(() => page.textContent('#estimate')).toBe('The end must be after the start.');
    await page.click('#create-cancel');
    await page.locator('#create-dialog').waitFor({ state: 'hidden' });
    expect(await h.store.list()).toEqual([]);
  });

  test('creating a dump shows it running, then ready; the download has the archive bytes', async () => {
    // Slow enough (8 s) that the 5 s auto-refresh sees it running.
    h.builder.opts.stepMs = 800;
    h.builder.opts.steps = 10;
    await page.click('#new-dump');
    await page.check('#groups input[value="node"]');
    await expect.poll(() => page.isEnabled('#create-submit')).toBe(true);
    await page.click('#create-submit');
    await page.locator('#create-dialog').waitFor({ state: 'hidden' });
    const row = page.locator('#jobs-body tr').first();
    await expect.poll(() => row.getAttribute('data-status')).toMatch(/pending|in_progress/);
    const [job] = await h.store.list();
    expect(job!.groups).toEqual(['node']);
    expect(job!.max_t - job!.min_t).toBe(24 * HOUR + 59_999);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 15_000 }).toBe('in_progress');
    expect(await row.locator('progress').count()).toBe(1);
    await shot(page, 'dump-running');
    h.builder.opts.stepMs = 150;
    h.builder.opts.steps = 8;
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 20_000 }).toBe('success');
    const done = (await h.store.get(job!.id))!;
    expect(await row.locator('code').textContent()).toBe(done.sha256.slice(0, 12));
    expect(await row.locator('td').nth(3).textContent()).toBe(`${(done.size / 1000).toFixed(1)} kB`);
    const [dl] = await Promise.all([page.waitForEvent('download'), row.locator('button[data-action="download"]').click()]);
    expect(dl.suggestedFilename()).toBe('tsdb_dump.tar.gz');
    const file = await dl.path();
    const bytes = await readFile(file);
    expect(bytes.length).toBe(done.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.sha256);
  });

  test('deleting one dump asks first and removes its row and archive', async () => {
    await page.click('#new-dump');
    await expect.poll(() => page.isEnabled('#create-submit')).toBe(true);
    await page.click('#create-submit');
    await expect.poll(() => page.locator('#jobs-body tr[data-status="success"]').count(), { timeout: 25_000 }).toBe(2);
    await shot(page, 'dumps');
    const jobs = await h.store.list();
    const oldest = jobs.at(-1)!;
    const row = page.locator(`#jobs-body tr[data-id="${oldest.id}"]`);
    await row.locator('button[data-action="delete"]').click();
    await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
    expect(await page.textContent('#confirm-text')).toMatch(/^Delete the dump created .*\? Its archive is removed/);
    await page.click('#confirm-cancel');
    expect(await h.store.get(oldest.id)).not.toBeNull();
    await row.locator('button[data-action="delete"]').click();
    await page.click('#confirm-ok');
    await expect.poll(() => page.locator('#jobs-body tr').count()).toBe(1);
    expect(await h.store.get(oldest.id)).toBeNull();
    expect(existsSync(path.join(h.dir, dumpDir(oldest.id)))).toBe(false);
  });

  test('remove all asks first, then empties the table and the store', async () => {
    await page.click('#remove-all');
    expect(await page.textContent('#confirm-text')).toBe('Remove the only dump? Running dumps are cancelled and every archive is deleted.');
    await shot(page, 'remove-all-confirm');
    await page.click('#confirm-ok');
    await page.locator('#jobs-empty').waitFor({ state: 'visible' });
    expect(await h.store.list()).toEqual([]);
    await expect.poll(() => page.textContent('#toast')).toBe('Removed 1 dump.');
  });

  test('logging out returns to the login screen and forgets the token', async () => {
    await page.click('#logout');
    await page.locator('#login-view').waitFor({ state: 'visible' });
    expect(await page.evaluate('sessionStorage.getItem("mm-metrics-admin-token")')).toBeNull();
    await page.reload();
    await page.locator('#login-view').waitFor({ state: 'visible' });
    expect(errors).toEqual([]);
  });
});

describe('admin UI behind Mattermost (session cookie)', () => {
  let mm: FakeMattermost;
  let h: Harness;
  let ctx: BrowserContext;

  beforeAll(async () => {
    mm = await startMattermost();
    mm.users.set('cookie-session-admin-000000000000', mmUser({ username: 'sysadmin' }));
    mm.users.set('cookie-session-user-0000000000000', mmUser({ username: 'bob', roles: 'system_user' }));
    h = await startHarness({ auth: { mode: 'mattermost', siteURL: mm.url }, builder: { steps: 2, stepMs: 20 } });
    liveData(h);
  });
  afterAll(async () => {
    await ctx?.close();
    await h?.close();
    await mm?.close();
  });

  test('an admin session cookie goes straight in, and creating a dump passes the CSRF rule', async () => {
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    const url = new URL(h.url);
    await ctx.addCookies([
      { name: 'MMAUTHTOKEN', value: 'cookie-session-admin-000000000000', domain: url.hostname, path: '/', httpOnly: true },
      { name: 'MMCSRF', value: 'csrf-from-mattermost', domain: url.hostname, path: '/' },
    ]);
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    const csrfSent: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST') csrfSent.push(r.headers()['x-csrf-token'] ?? '');
    });
    await page.goto(h.url + BASE_PATH + '/');
    await page.locator('#dumps-view').waitFor({ state: 'visible' });
    expect(await page.textContent('#who')).toBe('Signed in with Mattermost');
    await page.click('#new-dump');
    await expect.poll(() => page.isEnabled('#create-submit')).toBe(true);
    await page.click('#create-submit');
    await expect.poll(async () => (await h.store.list()).length).toBe(1);
    expect(csrfSent.length).toBeGreaterThan(0);
    expect(new Set(csrfSent)).toEqual(new Set(['csrf-from-mattermost']));
    await waitFor(async () => (await h.store.list())[0]?.status === 'success');
    expect(errors).toEqual([]);
    await page.close();
  });

  test('a non-admin session sees the login screen with the reason', async () => {
    const c2 = await browser.newContext({ locale: 'en-US' });
    await c2.addCookies([{ name: 'MMAUTHTOKEN', value: 'cookie-session-user-0000000000000', domain: new URL(h.url).hostname, path: '/' }]);
    const page = await c2.newPage();
    await page.goto(h.url + BASE_PATH + '/');
    await page.locator('#login-view').waitFor({ state: 'visible' });
    expect(await page.textContent('#login-error')).toBe('user bob is not a system admin (needs the system_admin role)');
    await c2.close();
  });
});
