/**
 * POST /api/v1/admin/tsdb/{delete_series,clean_tombstones} over real HTTP against a real
 * TSDB (openDB in a temp dir): 204 and the data is gone; 400 with a clear message for
 * bad selectors/times and nothing deleted; 401 without the admin token; Prometheus's
 * time parsing (unix seconds, RFC 3339).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parsePromTime, PROM_MAX_TIME_MS, PROM_MIN_TIME_MS } from '../../src/api/admin-tsdb.js';
import { BASE_PATH, buildServer, type ApiServer } from '../../src/api/server.js';
import { openFileJobStore, type FileJobStore } from '../../src/jobs/file-store.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { Labels, Matcher, MatchType, ValueType } from '../../src/storage/index.js';
import { openDB, type DB } from '../../src/tsdb/db.js';
import { TarDumpBuilder } from '../jobs/support/tar-builder.js';

const TOKEN = 'test-token-0123456789abcdef';
const H = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);
const quiet = { info: () => {}, warn: () => {} };

let dir = '';
let db: DB;
let app: ApiServer;
let url = '';
let store: FileJobStore;
let runner: JobRunner;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mm-api-del-'));
  db = await openDB(join(dir, 'tsdb'), { logger: quiet, retentionMs: 0 });
  await mkdir(join(dir, 'jobs'));
  store = await openFileJobStore(join(dir, 'jobs'));
  runner = new JobRunner({ store, builder: new TarDumpBuilder(dir), deleteArtifacts: async () => {}, nodeId: 'n' });
  app = await buildServer({
    jobStore: store,
    jobs: runner,
    stats: { stats: async () => ({ min_t: 0, max_t: 0, num_samples: 0, num_series: 0 }) },
    targets: { targets: () => [] },
    artifacts: { stat: async () => null, open: async () => Promise.reject(new Error('none')) },
    metrics: { render: () => '' },
    auth: { mode: 'static', token: TOKEN },
    logger: pino({ level: 'silent' }),
    tsdbAdmin: { deleteSeries: (a, b, m) => db.delete(a, b, m), cleanTombstones: () => db.cleanTombstones() },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  // 4 h of 15 s samples for m{i="0".."3"}: the first 2 h become a block.
  const lsets = Array.from({ length: 4 }, (_, i) => Labels.fromObject({ __name__: 'm', i: String(i) }));
  for (let k = 0; k < 4 * 240; k++) {
    const a = db.appender();
    for (let i = 0; i < 4; i++) a.append(0, lsets[i]!, T0 + k * 15_000, k);
    await a.commit();
  }
  await db.compact();
  expect(db.blocks().length).toBe(1);
});
afterAll(async () => {
  await app?.close();
  await store?.close();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

function count(sel: Record<string, string> = {}): number {
  const q = db.querier(-Infinity, Infinity);
  const ms = [new Matcher(MatchType.Equal, '__name__', 'm'), ...Object.entries(sel).map(([k, v]) => new Matcher(MatchType.Equal, k, v))];
  const set = q.select(true, null, ...ms);
  let n = 0;
  while (set.next()) {
    const it = set.at().iterator();
    while (it.next() === ValueType.Float) n++;
  }
  q.close();
  return n;
}

async function post(path: string, opts: { token?: string | null; form?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? TOKEN}`;
  if (opts.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  return fetch(url + path, { method: 'POST', headers, body: opts.form });
}

const q = (params: Array<[string, string]>) => '?' + new URLSearchParams(params).toString();

describe('delete_series', () => {
  test('without the admin token: 401, nothing deleted', async () => {
    const before = count();
    for (const p of [BASE_PATH + '/api/v1/admin/tsdb/delete_series', '/api/v1/admin/tsdb/delete_series', '/api/v1/admin/tsdb/clean_tombstones']) {
      expect((await post(p + q([['match[]', 'm']]), { token: null })).status, p).toBe(401);
      expect((await post(p + q([['match[]', 'm']]), { token: 'wrong-token-0123456789abcdef' })).status, p).toBe(401);
    }
    expect(count()).toBe(before);
  });

  const bad: Array<{ name: string; params: Array<[string, string]>; error: RegExp }> = [
    { name: 'no match[]', params: [['start', '0']], error: /^no match\[\] parameter provided$/ },
    { name: 'a selector that does not parse', params: [['match[]', 'm{i=']], error: /^invalid parameter "match\[\]": "m\{i=":/ },
    { name: 'a selector matching everything', params: [['match[]', '{i=~".*"}']], error: /^invalid parameter "match\[\]"/ },
    { name: 'a good and a bad selector (nothing deleted for the good one)', params: [['match[]', 'm{i="0"}'], ['match[]', '{']], error: /^invalid parameter "match\[\]"/ },
    { name: 'start that is no time', params: [['match[]', 'm'], ['start', 'yesterday']], error: /^invalid parameter "start": cannot parse "yesterday" to a valid timestamp$/ },
    { name: 'end that is no time', params: [['match[]', 'm'], ['end', '2025-13-01T00:00:00Z']], error: /^invalid parameter "end": cannot parse/ },
    { name: 'end before start', params: [['match[]', 'm'], ['start', String(T0 / 1000 + 10)], ['end', String(T0 / 1000)]], error: /^invalid parameter "end": end .* is before start/ },
  ];
  test.each(bad)('$name: 400 with a clear message, nothing deleted', async ({ params, error }) => {
    const before = count();
    const r = await post(BASE_PATH + '/api/v1/admin/tsdb/delete_series' + q(params));
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: string };
    expect(body.error).toMatch(error);
    expect(count()).toBe(before);
  });

  test('a delete in the block and the head: 204 and the samples are gone (query string, unix seconds)', async () => {
    const before = count({ i: '0' });
    const r = await post(BASE_PATH + '/api/v1/admin/tsdb/delete_series' + q([['match[]', 'm{i="0"}'], ['start', String((T0 + H) / 1000)], ['end', String((T0 + 3 * H) / 1000)]]));
    expect(r.status).toBe(204);
    expect(await r.text()).toBe('');
    expect(count({ i: '0' })).toBe(before - (2 * 240 + 1));
    expect(db.blocks()[0]!.stats.numTombstones).toBe(1);
  });

  test('form body at Prometheus path, RFC 3339 times, several selectors', async () => {
    const b1 = count({ i: '1' });
    const b2 = count({ i: '2' });
    const form = new URLSearchParams([['match[]', 'm{i="1"}'], ['match[]', '{__name__="m", i="2"}'], ['start', new Date(T0).toISOString()], ['end', '2025-01-01T00:29:59.999+00:00']]).toString();
    const r = await post('/api/v1/admin/tsdb/delete_series', { form });
    expect(r.status).toBe(204);
    expect(count({ i: '1' })).toBe(b1 - 120);
    expect(count({ i: '2' })).toBe(b2 - 120);
  });

  test('no start/end: everything of the series', async () => {
    expect(count({ i: '3' })).toBeGreaterThan(0);
    const r = await post(BASE_PATH + '/api/v1/admin/tsdb/delete_series' + q([['match[]', 'm{i="3"}']]));
    expect(r.status).toBe(204);
    expect(count({ i: '3' })).toBe(0);
  });

  test('clean_tombstones: 204 and the block is rewritten, data unchanged', async () => {
    const old = db.blocks()[0]!.ulid;
    const before = count();
    const r = await post('/api/v1/admin/tsdb/clean_tombstones');
    expect(r.status).toBe(204);
    expect(db.blocks()[0]!.ulid).not.toBe(old);
    expect(db.blocks()[0]!.stats.numTombstones ?? 0).toBe(0);
    expect(count()).toBe(before);
  });
});

describe('Prometheus time parsing', () => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['1735689600', T0],
    ['1735689600.1234', T0 + 123],
    ['1735689600.9996', T0 + 1000],
    ['-1.5', -1500],
    ['1.7e9', 1.7e12],
    ['2025-01-01T00:00:00Z', T0],
    ['2025-01-01T00:00:00.123456789Z', T0 + 123],
    ['2025-01-01T02:00:00+02:00', T0],
    ['2024-12-31T19:00:00-05:00', T0],
    ['-292273086-05-16T16:47:06Z', PROM_MIN_TIME_MS],
    ['292277025-08-18T07:12:54.999999999Z', PROM_MAX_TIME_MS],
  ];
  test.each(cases)('%s → %d ms', (s, ms) => {
    expect(parsePromTime(s, 'start')).toBe(ms);
  });
  test.each(['', 'now', '1h', '2025-01-01', '2025-02-30T00:00:00Z', '2025-01-01T24:00:00Z', '2025-01-01 00:00:00Z', 'NaN', 'Inf', '0x10'])('%j is refused', (s) => {
    expect(() => parsePromTime(s, 'start')).toThrow(/cannot parse .* to a valid timestamp/);
  });
});
