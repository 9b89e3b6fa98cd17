import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BASE_PATH } from '../../src/api/server.js';
import { dumpDir } from '../../src/jobs/paths.js';
import type { DumpJob } from '../../src/jobs/types.js';
import { waitFor } from '../jobs/support/jobs.js';
import { HOUR, startHarness, T0, type Harness } from './support/harness.js';

const TOKEN = 'test-token-0123456789abcdef';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ auth: { mode: 'static', token: TOKEN }, bodyLimit: 4096 });
});
afterAll(async () => {
  await h?.close();
});

async function call(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${TOKEN}`, ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  return fetch(h.url + (p.startsWith('/') && !p.startsWith(BASE_PATH) && !['/healthz', '/readyz', '/metrics'].includes(p) ? BASE_PATH + p : p), init);
}

async function jobCount(): Promise<number> {
  return (await h.store.list()).length;
}

async function createFinished(body: Record<string, unknown> = { min_t: T0, max_t: T0 + HOUR }): Promise<DumpJob> {
  const r = await call('POST', '/jobs/create', body);
  expect(r.status).toBe(200);
  const job = (await r.json()) as DumpJob;
  return waitFor(async () => {
    const j = await h.store.get(job.id);
    return j?.status === 'success' ? j : null;
  }, 10_000, 'job success');
}

describe('open endpoints', () => {
  test('/healthz answers ok without a token', async () => {
    const r = await fetch(h.url + '/healthz');
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ok' });
  });

  test('/readyz follows the readiness function', async () => {
    expect((await fetch(h.url + '/readyz')).status).toBe(200);
    h.ready.value = false;
    const r = await fetch(h.url + '/readyz');
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ status: 'not ready' });
    h.ready.value = true;
  });

  test('/metrics serves the text exposition format', async () => {
    const r = await fetch(h.url + '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await r.text()).toContain('mm_metrics_up 1');
  });

  test('the web UI files are served with a strict CSP, and the bare base path redirects', async () => {
    for (const [p, type] of [['/', 'text/html'], ['/index.html', 'text/html'], ['/app.js', 'text/javascript'], ['/style.css', 'text/css']] as const) {
      const r = await fetch(h.url + BASE_PATH + p);
      expect(r.status, p).toBe(200);
      expect(r.headers.get('content-type')).toContain(type);
      expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      const again = await fetch(h.url + BASE_PATH + p, { headers: { 'if-none-match': r.headers.get('etag')! } });
      expect(again.status).toBe(304);
    }
    const r = await fetch(h.url + BASE_PATH, { redirect: 'manual' });
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe(BASE_PATH + '/');
    expect((await fetch(h.url + BASE_PATH + '/../package.json')).status).toBe(404);
    expect((await fetch(h.url + BASE_PATH + '/secret.txt')).status).toBe(404);
  });

  test('an unknown route is a JSON 404', async () => {
    const r = await fetch(h.url + '/nope?token=abc');
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: 'no route GET /nope' });
  });
});

describe('stats and targets', () => {
  test('GET /tsdb/stats returns the provider stats including the head', async () => {
    const r = await call('GET', '/tsdb/stats');
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(await r.json()).toEqual(h.stats.value);
  });

  test('GET /targets returns every target with health and last error', async () => {
    const r = await call('GET', '/targets');
    expect(r.status).toBe(200);
    const t = (await r.json()) as Array<{ health: string; last_error: string }>;
    expect(t).toEqual(h.targets);
    expect(t[1]!.last_error).toMatch(/deadline exceeded/);
  });
});

describe('jobs', () => {
  test('create → pending job; it runs to success; GET /jobs lists it newest first; GET /jobs/{id} returns it', async () => {
    const a = await createFinished({ min_t: T0, max_t: T0 + HOUR });
    const r = await call('POST', '/jobs/create', { min_t: T0 + HOUR, max_t: T0 + 2 * HOUR, instances: ['10.0.0.5:8067'], groups: ['api', 'go'], matchers: ['{job="node"}'] });
    expect(r.status).toBe(200);
    const b = (await r.json()) as DumpJob;
    expect(b).toMatchObject({ status: 'pending', min_t: T0 + HOUR, max_t: T0 + 2 * HOUR, instances: ['10.0.0.5:8067'], groups: ['api', 'go'], matchers: ['{job="node"}'], dump_location: '' });
    expect(b.id).toMatch(/^[a-z0-9]{26}$/);
    await waitFor(async () => (await h.store.get(b.id))?.status === 'success');
    const list = (await (await call('GET', '/jobs')).json()) as DumpJob[];
    const ids = list.map((j) => j.id);
    expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
    const one = (await (await call('GET', `/jobs/${a.id}`)).json()) as DumpJob;
    expect(one).toMatchObject({ id: a.id, status: 'success', sha256: a.sha256, size: a.size });
  });

  test('POST /jobs/estimate returns the builder estimate and creates nothing', async () => {
    const before = await jobCount();
    const r = await call('POST', '/jobs/estimate', { min_t: T0, max_t: T0 + 6 * HOUR });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ min_t: T0, max_t: T0 + 6 * HOUR, bytes: h.builder.opts.payloadBytes + 1024, blocks: 3, series: 600 });
    expect(await jobCount()).toBe(before);
  });

  const validBody = { min_t: T0, max_t: T0 + HOUR };
  test.each([
    ['min_t equal to max_t', { min_t: T0, max_t: T0 }, 400, /max_t: must be greater than min_t/],
    ['min_t after max_t', { min_t: T0 + 5, max_t: T0 }, 400, /max_t: must be greater than min_t/],
    ['a string min_t', { min_t: String(T0), max_t: T0 + 1 }, 400, /min_t: expected a number \(ms since epoch\), got string/],
    ['a missing max_t', { min_t: T0 }, 400, /max_t: expected a number .* got nothing/],
    ['a fractional max_t', { min_t: T0, max_t: T0 + 0.5 }, 400, /max_t: must be a whole number/],
    ['a negative min_t', { min_t: -1, max_t: T0 }, 400, /min_t: must not be negative/],
    ['a huge max_t', { min_t: 0, max_t: 1e300 }, 400, /max_t: must be at most/],
    ['null min_t', { min_t: null, max_t: T0 }, 400, /min_t: expected a number .* got null/],
    ['an unknown field', { ...validBody, max: 5 }, 400, /unknown field "max"/],
    ['an array body', [1, 2], 400, /expected a JSON object, got an array/],
    ['a JSON string body', '"hello"', 400, /expected a JSON object, got string/],
    ['a JSON null body', 'null', 400, /request body: expected a JSON object/],
    ['broken JSON', '{"min_t":', 400, /not valid JSON/],
    ['an empty JSON body', '', 400, /body is empty/],
    ['instances that are not strings', { ...validBody, instances: [5] }, 400, /instances\[0\]: .*expected string/i],
    ['an empty instance', { ...validBody, instances: [''] }, 400, /instances\[0\]: must not be empty/],
    ['an unknown group', { ...validBody, groups: ['api', 'kernel'] }, 400, /groups\[1\]: unknown group string "kernel"; known: api, database/],
    ['a bad selector', { ...validBody, matchers: ['{job="node"}', '{job=node}'] }, 400, /matchers\[1\]: at char 6: .*want a quoted string/],
    ['a bad regex selector', { ...validBody, matchers: ['{a=~"("}'] }, 400, /matchers\[0\]: .*invalid regular expression/],
    ['an all-matching selector', { ...validBody, matchers: ['{a=~".*"}'] }, 400, /matchers\[0\]: .*at least one non-empty matcher/],
    ['too many selectors', { ...validBody, matchers: Array.from({ length: 21 }, (_, i) => `m${i}`) }, 400, /at most 20 selectors/],
    ['a body over the size limit', { ...validBody, instances: Array.from({ length: 150 }, (_, i) => `host-${i}.example.com:8067`) }, 413, /larger than 4096 bytes/],
    ['a range before any data', { min_t: T0 - 10 * HOUR, max_t: T0 - HOUR }, 422, /no data between 2024-12-31T14:00:00.000Z and 2024-12-31T23:00:00.000Z: stored data covers 2025-01-01T00:00:00.000Z to 2025-01-02T02:00:00.000Z/],
    ['a range after all data', { min_t: T0 + 30 * HOUR, max_t: T0 + 40 * HOUR }, 422, /no data between/],
  ])('create and estimate reject %s with %s and create nothing', async (_name, body, status, re) => {
    for (const route of ['/jobs/create', '/jobs/estimate']) {
      const before = await jobCount();
      const r = await call('POST', route, body);
      expect(r.status, route).toBe(status);
      expect(r.headers.get('content-type')).toContain('application/json');
      const j = (await r.json()) as { error: string };
      expect(j.error).toMatch(re);
      expect(await jobCount()).toBe(before);
    }
  });

  test('a non-JSON content type is refused with 415', async () => {
    const r = await call('POST', '/jobs/create', 'min_t=1', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(415);
    expect(((await r.json()) as { error: string }).error).toMatch(/send application\/json/);
  });

  test('prototype pollution in the body is refused', async () => {
    const r = await call('POST', '/jobs/create', `{"min_t":${T0},"max_t":${T0 + 1},"__proto__":{"x":1}}`);
    expect(r.status).toBe(400);
  });

  test('with no data stored at all, create says so with 422', async () => {
    const saved = h.stats.value;
    h.stats.value = { min_t: 0, max_t: 0, num_samples: 0, num_series: 0 };
    const r = await call('POST', '/jobs/create', { min_t: T0, max_t: T0 + HOUR });
    expect(r.status).toBe(422);
    expect(await r.json()).toEqual({ error: 'no data stored yet: there is nothing to dump' });
    h.stats.value = saved;
  });

  test('a range covered only by the head is accepted', async () => {
    const r = await call('POST', '/jobs/estimate', { min_t: T0 + 25 * HOUR, max_t: T0 + 26 * HOUR });
    expect(r.status).toBe(200);
  });

  test.each([
    ['a short id', 'abc', 400, /job id "abc" is malformed/],
    ['an upper-case id', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 400, /malformed/],
    ['a path trick', '..%2F..%2F..%2Fetc%2Fpasswd', 400, /malformed/],
    ['an encoded dot-dot of id length', '%2E%2E%2Fabcdefghijklmnopqrstuvw', 400, /malformed/],
    ['a well-formed unknown id', 'abcdefghijklmnopqrstuvwxyz', 404, /job abcdefghijklmnopqrstuvwxyz not found/],
  ])('job routes answer %s with %s', async (_name, id, status, re) => {
    for (const [method, p] of [['GET', `/jobs/${id}`], ['DELETE', `/jobs/delete/${id}`], ['GET', `/jobs/download/${id}`], ['POST', `/jobs/download/${id}/ticket`]] as const) {
      const r = await call(method, p);
      expect(r.status, `${method} ${p}`).toBe(status);
      expect(((await r.json()) as { error: string }).error).toMatch(re);
    }
  });
});

describe('downloads', () => {
  let job: DumpJob;
  let bytes: Buffer;
  beforeAll(async () => {
    job = await createFinished();
    bytes = Buffer.from(await (await call('GET', `/jobs/download/${job.id}`)).arrayBuffer());
  });

  test('the whole archive comes with its length, type, file name and ETag, and matches the job sha256', async () => {
    const r = await call('GET', `/jobs/download/${job.id}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/gzip');
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="tsdb_dump.tar.gz"');
    expect(r.headers.get('content-length')).toBe(String(job.size));
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.headers.get('etag')).toBe(`"${job.sha256}"`);
    const body = Buffer.from(await r.arrayBuffer());
    expect(body.length).toBe(job.size);
    expect(createHash('sha256').update(body).digest('hex')).toBe(job.sha256);
    expect(body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip magic
  });

  test.each([
    ['a closed range', 'bytes=0-99', 206, 0, 99],
    ['an open-ended range', 'bytes=100-', 206, 100, -1],
    ['a suffix range', 'bytes=-50', 206, -50, -1],
    ['a range past the end, clamped', 'bytes=10-99999999', 206, 10, -1],
    ['a malformed range (ignored)', 'bytes=abc', 200, 0, -1],
    ['a multi-range (served whole)', 'bytes=0-1,5-6', 200, 0, -1],
    ['a reversed range (ignored)', 'bytes=50-10', 200, 0, -1],
  ])('%s gives %s with the right bytes', async (_name, range, status, s, e) => {
    const r = await call('GET', `/jobs/download/${job.id}`, undefined, { range });
    expect(r.status).toBe(status);
    const start = s < 0 ? job.size + s : s;
    const end = e < 0 ? job.size - 1 : e;
    const body = Buffer.from(await r.arrayBuffer());
    expect(body).toEqual(bytes.subarray(start, end + 1));
    expect(r.headers.get('content-length')).toBe(String(end - start + 1));
    if (status === 206) expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end}/${job.size}`);
  });

  test.each([
    ['a range starting at the end', () => `bytes=${job.size}-`],
    ['an empty suffix range', () => 'bytes=-0'],
  ])('%s is 416 with Content-Range bytes */size', async (_name, range) => {
    const r = await call('GET', `/jobs/download/${job.id}`, undefined, { range: range() });
    expect(r.status).toBe(416);
    expect(r.headers.get('content-range')).toBe(`bytes */${job.size}`);
    expect(((await r.json()) as { error: string }).error).toMatch(/outside the archive/);
  });

  test('If-Range with a stale ETag gets the whole archive; with the current one the range', async () => {
    const stale = await call('GET', `/jobs/download/${job.id}`, undefined, { range: 'bytes=0-9', 'if-range': '"old"' });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
    const cur = await call('GET', `/jobs/download/${job.id}`, undefined, { range: 'bytes=0-9', 'if-range': `"${job.sha256}"` });
    expect(cur.status).toBe(206);
    expect((await cur.arrayBuffer()).byteLength).toBe(10);
  });

  test('HEAD gives the headers and no body', async () => {
    const r = await call('HEAD', `/jobs/download/${job.id}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe(String(job.size));
    expect((await r.arrayBuffer()).byteLength).toBe(0);
  });

  test('a ticket opens only its own download, without the token, and expires', async () => {
    const t = (await (await call('POST', `/jobs/download/${job.id}/ticket`)).json()) as { url: string; expires_at: number };
    expect(t.url).toMatch(new RegExp(`^${BASE_PATH}/jobs/download/${job.id}\\?ticket=`));
    const r = await fetch(h.url + t.url);
    expect(r.status).toBe(200);
    expect(createHash('sha256').update(Buffer.from(await r.arrayBuffer())).digest('hex')).toBe(job.sha256);
    const other = await createFinished();
    const wrong = await fetch(h.url + t.url.replace(job.id, other.id));
    expect(wrong.status).toBe(401);
    const forged = await fetch(h.url + t.url.replace(/ticket=\d+/, `ticket=${t.expires_at + 100000}`));
    expect(forged.status).toBe(401);
    // The ticket does not open other routes.
    expect((await fetch(h.url + `${BASE_PATH}/jobs?ticket=${new URL(h.url + t.url).searchParams.get('ticket')}`)).status).toBe(401);
    expect(h.logs()).not.toContain(new URL(h.url + t.url).searchParams.get('ticket')!);
  });

  test('a pending or failed job cannot be downloaded (409), a lost archive is 410', async () => {
    h.builder.opts.failWith = () => 'boom';
    const r = await call('POST', '/jobs/create', { min_t: T0, max_t: T0 + HOUR });
    const failed = (await r.json()) as DumpJob;
    await waitFor(async () => (await h.store.get(failed.id))?.status === 'error');
    h.builder.opts.failWith = () => null;
    const d = await call('GET', `/jobs/download/${failed.id}`);
    expect(d.status).toBe(409);
    expect(((await d.json()) as { error: string }).error).toBe(`job ${failed.id} is error: only finished dumps can be downloaded`);
    const lost = await createFinished();
    await rm(path.join(h.dir, dumpDir(lost.id)), { recursive: true });
    const l = await call('GET', `/jobs/download/${lost.id}`);
    expect(l.status).toBe(410);
  });

  test('a forged dump_location outside the dump folder is never read', async () => {
    const j = await createFinished();
    const claimed = (await h.store.get(j.id))!;
    // Simulate a tampered record: the store accepts the update from the recorded owner ('').
    expect(await h.store.update({ ...claimed, dump_location: '../../../../etc/passwd' }, '')).toBe(true);
    const r = await call('GET', `/jobs/download/${j.id}`);
    expect(r.status).toBe(500);
    expect(await r.json()).toEqual({ error: 'internal error (see the server log)' });
  });
});

describe('deletion', () => {
  test('DELETE /jobs/delete/{id} removes the record and the archive folder; again is 404', async () => {
    const j = await createFinished();
    expect(existsSync(path.join(h.dir, dumpDir(j.id)))).toBe(true);
    const r = await call('DELETE', `/jobs/delete/${j.id}`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ deleted: j.id, status: 'success' });
    expect(existsSync(path.join(h.dir, dumpDir(j.id)))).toBe(false);
    expect((await call('GET', `/jobs/${j.id}`)).status).toBe(404);
    expect((await call('DELETE', `/jobs/delete/${j.id}`)).status).toBe(404);
  });

  test('deleting a running job stops it and it does not come back', async () => {
    h.builder.opts.steps = 500;
    h.builder.opts.stepMs = 10;
    const j = (await (await call('POST', '/jobs/create', { min_t: T0, max_t: T0 + HOUR })).json()) as DumpJob;
    await waitFor(async () => (await h.store.get(j.id))?.status === 'in_progress');
    const r = await call('DELETE', `/jobs/delete/${j.id}`);
    expect(await r.json()).toEqual({ deleted: j.id, status: 'in_progress' });
    await waitFor(() => !h.runner.runningIds().includes(j.id));
    await new Promise((res) => setTimeout(res, 50));
    expect(await h.store.get(j.id)).toBeNull();
    expect(existsSync(path.join(h.dir, dumpDir(j.id)))).toBe(false);
    h.builder.opts.steps = 4;
    h.builder.opts.stepMs = 5;
  });

  test('DELETE /jobs/deleteAll removes every job and archive', async () => {
    await createFinished();
    const n = await jobCount();
    expect(n).toBeGreaterThan(0);
    const r = await call('DELETE', '/jobs/deleteAll');
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ deleted: n });
    expect(await (await call('GET', '/jobs')).json()).toEqual([]);
    expect(existsSync(path.join(h.dir, 'plugin-data/mattermost-plugin-metrics/dump')) ? (await import('node:fs')).readdirSync(path.join(h.dir, 'plugin-data/mattermost-plugin-metrics/dump')) : []).toEqual([]);
  });
});
