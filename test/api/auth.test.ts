import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bearerToken, parseCookies } from '../../src/api/auth.js';
import { BASE_PATH } from '../../src/api/server.js';
import { constantTimeEqual, loadOrCreateAdminToken } from '../../src/api/token.js';
import { HOUR, mmUser, startHarness, startMattermost, T0, type FakeMattermost, type Harness } from './support/harness.js';

const STATIC = 'static-admin-token-abcdefghijklmnop';
const ADMIN = 'mm-session-admin-0000000000000000';
const USER = 'mm-session-user-00000000000000000';
const GONE = 'mm-session-deactivated-000000000000';

describe('static token mode', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ auth: { mode: 'static', token: STATIC } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const get = (headers: Record<string, string>, p = '/jobs') => fetch(h.url + BASE_PATH + p, { headers });

  test.each([
    ['no Authorization header', {}, 401, /missing admin token/],
    ['a wrong token', { authorization: 'Bearer nope' }, 401, /invalid admin token/],
    ['a token with one character changed', { authorization: `Bearer ${STATIC.slice(0, -1)}X` }, 401, /invalid admin token/],
    ['a Basic scheme', { authorization: `Basic ${STATIC}` }, 401, /missing admin token/],
    ['the token only in a cookie', { cookie: `MMAUTHTOKEN=${STATIC}` }, 401, /missing admin token/],
    ['the right token', { authorization: `Bearer ${STATIC}` }, 200, null],
    ['the right token with the Token scheme in lower case', { authorization: `token ${STATIC}` }, 200, null],
  ])('%s gives %s', async (_n, headers, status, re) => {
    const r = await get(headers);
    expect(r.status).toBe(status);
    if (re) {
      const body = (await r.json()) as { error: string; auth_mode: string };
      expect(body.error).toMatch(re);
      expect(body.auth_mode).toBe('static');
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="mm-metrics"');
    }
  });

  test.each([
    ['GET', '/tsdb/stats'], ['GET', '/targets'], ['GET', '/jobs'], ['GET', '/jobs/abcdefghijklmnopqrstuvwxyz'],
    ['POST', '/jobs/create'], ['POST', '/jobs/estimate'], ['DELETE', '/jobs/delete/abcdefghijklmnopqrstuvwxyz'],
    ['DELETE', '/jobs/deleteAll'], ['GET', '/jobs/download/abcdefghijklmnopqrstuvwxyz'], ['POST', '/jobs/download/abcdefghijklmnopqrstuvwxyz/ticket'],
  ])('%s %s needs the token (checked before validation)', async (method, p) => {
    const before = (await h.store.list()).length;
    const r = await fetch(h.url + BASE_PATH + p, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? JSON.stringify({ min_t: T0, max_t: T0 + HOUR }) : undefined });
    expect(r.status).toBe(401);
    expect((await h.store.list()).length).toBe(before);
  });

  test('tokens never appear in the log', async () => {
    await get({ authorization: `Bearer ${STATIC}` });
    await get({ authorization: 'Bearer wrong-secret-value-1234' });
    await fetch(h.url + BASE_PATH + '/jobs?access_token=query-secret-5678');
    const logs = h.logs();
    expect(logs).toContain('"url":"/plugins/com.mattermost.mattermost-plugin-metrics/jobs?access_token=[REDACTED]"');
    for (const s of [STATIC, 'wrong-secret-value-1234', 'query-secret-5678']) expect(logs).not.toContain(s);
  });
});

describe('mattermost mode', () => {
  let mm: FakeMattermost;
  let h: Harness;
  let clock = 1_000_000;
  beforeAll(async () => {
    mm = await startMattermost();
    mm.users.set(ADMIN, mmUser());
    mm.users.set(USER, mmUser({ username: 'bob', roles: 'system_user' }));
    mm.users.set(GONE, mmUser({ username: 'carol', delete_at: 1700000000000 }));
    h = await startHarness({ auth: { mode: 'mattermost', siteURL: mm.url + '/', cacheTtlMs: 30_000 }, now: () => clock });
  });
  afterAll(async () => {
    await h?.close();
    await mm?.close();
  });

  const req = (method: string, headers: Record<string, string>, p = '/jobs', body?: unknown) =>
    fetch(h.url + BASE_PATH + p, { method, headers: body ? { ...headers, 'content-type': 'application/json' } : headers, body: body ? JSON.stringify(body) : undefined });
  const valid = { min_t: T0, max_t: T0 + HOUR };

  test.each([
    ['no credentials', 'GET', {}, 401, /not logged in/],
    ['an unknown token', 'GET', { authorization: 'Bearer nobody-000000000000000' }, 401, /Mattermost rejected the token/],
    ['a non-admin user', 'GET', { authorization: `Bearer ${USER}` }, 403, /user bob is not a system admin/],
    ['a deactivated admin', 'GET', { authorization: `Bearer ${GONE}` }, 403, /user carol is deactivated/],
    ['an admin bearer token', 'GET', { authorization: `Bearer ${ADMIN}` }, 200, null],
    ['an admin Token header', 'GET', { authorization: `Token ${ADMIN}` }, 200, null],
    ['an admin session cookie on GET', 'GET', { cookie: `MMUSERID=x; MMAUTHTOKEN=${ADMIN}; MMCSRF=csrf1` }, 200, null],
    ['a non-admin session cookie on GET', 'GET', { cookie: `MMAUTHTOKEN=${USER}` }, 403, /not a system admin/],
  ])('%s on %s gives %s', async (_n, method, headers, status, re) => {
    const r = await req(method, headers);
    expect(r.status).toBe(status);
    if (re) expect(((await r.json()) as { error: string }).error).toMatch(re);
  });

  test.each([
    ['no CSRF header', { cookie: `MMAUTHTOKEN=${ADMIN}; MMCSRF=csrf1` }, 401],
    ['a mismatched X-CSRF-Token', { cookie: `MMAUTHTOKEN=${ADMIN}; MMCSRF=csrf1`, 'x-csrf-token': 'csrf2' }, 401],
    ['an X-CSRF-Token without an MMCSRF cookie', { cookie: `MMAUTHTOKEN=${ADMIN}`, 'x-csrf-token': 'csrf1' }, 401],
    ['a matching X-CSRF-Token', { cookie: `MMAUTHTOKEN=${ADMIN}; MMCSRF=csrf1`, 'x-csrf-token': 'csrf1' }, 200],
    ['X-Requested-With: XMLHttpRequest', { cookie: `MMAUTHTOKEN=${ADMIN}`, 'x-requested-with': 'XMLHttpRequest' }, 200],
    ['a bearer header (no cookie, so no CSRF rule)', { authorization: `Bearer ${ADMIN}` }, 200],
  ])('a cookie-authenticated POST with %s gives %s, and only 200 creates a job', async (_n, headers, status) => {
    const before = (await h.store.list()).length;
    const r = await req('POST', headers, '/jobs/estimate', valid);
    expect(r.status).toBe(status);
    if (status === 401) expect(((await r.json()) as { error: string }).error).toMatch(/CSRF check failed/);
    const c = await req('POST', headers, '/jobs/create', valid);
    expect(c.status).toBe(status);
    expect((await h.store.list()).length).toBe(before + (status === 200 ? 1 : 0));
  });

  test('a cookie DELETE without the CSRF header is refused and deletes nothing', async () => {
    const before = (await h.store.list()).length;
    expect(before).toBeGreaterThan(0);
    const r = await req('DELETE', { cookie: `MMAUTHTOKEN=${ADMIN}` }, '/jobs/deleteAll');
    expect(r.status).toBe(401);
    expect((await h.store.list()).length).toBe(before);
  });

  test('results are cached per token for the TTL, then asked again; Mattermost errors are not cached', async () => {
    const T = 'mm-cache-test-token-000000000000';
    mm.users.set(T, mmUser({ username: 'dave' }));
    const n0 = mm.calls;
    for (let i = 0; i < 5; i++) expect((await req('GET', { authorization: `Bearer ${T}` })).status).toBe(200);
    expect(mm.calls - n0).toBe(1);
    // Demoted in Mattermost: still admitted from the cache until the TTL passes.
    mm.users.set(T, mmUser({ username: 'dave', roles: 'system_user' }));
    clock += 29_000;
    expect((await req('GET', { authorization: `Bearer ${T}` })).status).toBe(200);
    clock += 2_000;
    expect((await req('GET', { authorization: `Bearer ${T}` })).status).toBe(403);
    expect(mm.calls - n0).toBe(2);
    // Mattermost down: 502, and the next request asks again.
    const D = 'mm-down-test-token-0000000000000';
    mm.users.set(D, mmUser());
    mm.down = true;
    const r = await req('GET', { authorization: `Bearer ${D}` });
    expect(r.status).toBe(502);
    expect(((await r.json()) as { error: string }).error).toMatch(/Mattermost answered 503/);
    mm.down = false;
    expect((await req('GET', { authorization: `Bearer ${D}` })).status).toBe(200);
    expect(mm.calls - n0).toBe(4);
  });

  test('concurrent requests with one new token make one call to Mattermost', async () => {
    const T = 'mm-concurrent-token-000000000000';
    mm.users.set(T, mmUser());
    const n0 = mm.calls;
    const rs = await Promise.all(Array.from({ length: 10 }, () => req('GET', { authorization: `Bearer ${T}` })));
    expect(rs.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(mm.calls - n0).toBe(1);
  });

  test('the open endpoints need no credentials', async () => {
    for (const p of ['/healthz', '/readyz', '/metrics']) expect((await fetch(h.url + p)).status).toBe(200);
    expect((await fetch(h.url + BASE_PATH + '/')).status).toBe(200);
  });

  test('session tokens and CSRF values never appear in the log', async () => {
    const logs = h.logs();
    for (const s of [ADMIN, USER, GONE, 'csrf1']) expect(logs).not.toContain(s);
    expect(logs).toContain('"user":"alice"');
  });
});

describe('mattermost mode with strict CSRF', () => {
  let mm: FakeMattermost;
  let h: Harness;
  beforeAll(async () => {
    mm = await startMattermost();
    mm.users.set(ADMIN, mmUser());
    h = await startHarness({ auth: { mode: 'mattermost', siteURL: mm.url, strictCsrf: true } });
  });
  afterAll(async () => {
    await h?.close();
    await mm?.close();
  });

  test('X-Requested-With alone is not enough; the CSRF token is', async () => {
    const body = JSON.stringify({ min_t: T0, max_t: T0 + HOUR });
    const base = { cookie: `MMAUTHTOKEN=${ADMIN}; MMCSRF=c5`, 'content-type': 'application/json' };
    expect((await fetch(h.url + BASE_PATH + '/jobs/estimate', { method: 'POST', body, headers: { ...base, 'x-requested-with': 'XMLHttpRequest' } })).status).toBe(401);
    expect((await fetch(h.url + BASE_PATH + '/jobs/estimate', { method: 'POST', body, headers: { ...base, 'x-csrf-token': 'c5' } })).status).toBe(200);
  });

  test('an unreachable Mattermost gives 502, not a crash', async () => {
    await mm.close();
    const r = await fetch(h.url + BASE_PATH + '/jobs', { headers: { authorization: 'Bearer some-token-00000000000000' } });
    expect(r.status).toBe(502);
    expect(((await r.json()) as { error: string }).error).toMatch(/cannot validate the token with Mattermost/);
  });
});

describe('helpers', () => {
  test.each([
    ['Bearer abc', 'abc'], ['bearer abc', 'abc'], ['BEARER   abc  ', 'abc'], ['Token abc', 'abc'],
    ['Bearer', null], ['Bearer a b', null], ['Basic abc', null], ['', null],
  ])('bearerToken(%j) is %j', (h, want) => {
    expect(bearerToken({ authorization: h })).toBe(want);
  });

  test('parseCookies keeps the first value, decodes, and strips quotes', () => {
    const c = parseCookies('a=1; MMAUTHTOKEN="x%20y"; a=2; junk; MMCSRF=z');
    expect([...c]).toEqual([['a', '1'], ['MMAUTHTOKEN', 'x y'], ['MMCSRF', 'z']]);
  });

  test.each([
    ['equal strings', 'abc', 'abc', true], ['different strings', 'abc', 'abd', false], ['a prefix', 'abc', 'abcd', false], ['empty vs not', '', 'a', false],
  ])('constantTimeEqual on %s', (_n, a, b, want) => {
    expect(constantTimeEqual(a, b)).toBe(want);
  });
});

describe('loadOrCreateAdminToken', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mm-token-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('creates a 0600 token once and returns the same token afterwards', async () => {
    const d = path.join(dir, 'a');
    const first = await loadOrCreateAdminToken(d);
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(first.path)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateAdminToken(d);
    expect(again).toEqual({ token: first.token, created: false, path: first.path });
  });

  test('concurrent first starts agree on one token', async () => {
    const d = path.join(dir, 'b');
    const all = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateAdminToken(d)));
    expect(new Set(all.map((t) => t.token)).size).toBe(1);
    expect(all.filter((t) => t.created).length).toBe(1);
  });

  test('a looser mode is tightened to 0600; a too-short token is refused', async () => {
    const d = path.join(dir, 'c');
    const t = await loadOrCreateAdminToken(d);
    await chmod(t.path, 0o644);
    await loadOrCreateAdminToken(d);
    expect((await stat(t.path)).mode & 0o777).toBe(0o600);
    await writeFile(t.path, 'short\n');
    await expect(loadOrCreateAdminToken(d)).rejects.toThrow(/at least 20 characters/);
    expect(await readFile(t.path, 'utf8')).toBe('short\n');
  });
});
