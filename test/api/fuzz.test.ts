/**
 * Property tests over the API's inputs: random bodies, ids, headers and ranges never
 * produce a 5xx, and nothing is created or deleted unless the request was valid.
 * Runs count is kept small for the normal suite; MM_SOAK=1 runs ten times more.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BASE_PATH } from '../../src/api/server.js';
import type { DumpJob } from '../../src/jobs/types.js';
import { waitFor } from '../jobs/support/jobs.js';
import { HOUR, startHarness, T0, type Harness } from './support/harness.js';

const TOKEN = 'fuzz-token-0123456789abcdef';
const RUNS = process.env.MM_SOAK === '1' ? 2000 : 200;
const AUTH = { authorization: `Bearer ${TOKEN}` };
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ auth: { mode: 'static', token: TOKEN }, builder: { payloadBytes: 512, steps: 1, stepMs: 1 } });
});
afterAll(async () => {
  await h?.close();
});

const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = AUTH) =>
  h.app.inject({ method, url: BASE_PATH + url, payload: payload as string, headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' } });

/** Values biased towards the edges of what a time field accepts. */
const timeLike = fc.oneof(
  fc.integer({ min: T0 - 5 * HOUR, max: T0 + 30 * HOUR }),
  fc.constantFrom(0, -1, 1.5, 8.64e15, 8.64e15 + 1, Number.MAX_SAFE_INTEGER, 1e300),
  fc.string({ maxLength: 5 }),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 2 }),
);
const selectorLike = fc.oneof(
  fc.constantFrom('{job="node"}', 'up', '{a=~"("}', '{a=""}', '{instance=~"10\\\\..*"}', 'x{', '', '{__name__=~"go_.+"}'),
  fc.string({ maxLength: 12 }),
);
/** Mostly valid requests, with a few fields possibly bent. */
const nearValid = fc
  .tuple(fc.integer({ min: T0 - 3 * HOUR, max: T0 + 28 * HOUR }), fc.integer({ min: 1, max: 10 * HOUR }))
  .chain(([min, len]) =>
    fc.record(
      {
        min_t: fc.constant(min),
        max_t: fc.oneof(fc.constant(min + len), fc.constant(min), fc.constant(String(min + len))),
        instances: fc.array(fc.constantFrom('10.0.0.5:8067', '10.0.0.5:9100', 'a b'), { maxLength: 2 }),
        groups: fc.array(fc.constantFrom('api', 'node', 'go', 'kernel'), { maxLength: 2 }),
        matchers: fc.array(fc.constantFrom('{job="node"}', 'up', '{a=~"("}', '{a=""}'), { maxLength: 2 }),
      },
      { requiredKeys: ['min_t', 'max_t'] },
    ),
  );
const bodyLike = fc.oneof(
  nearValid,
  fc.record(
    {
      min_t: timeLike,
      max_t: timeLike,
      instances: fc.array(fc.oneof(fc.constantFrom('10.0.0.5:8067', '', 'a b'), fc.string({ maxLength: 8 }), fc.integer()), { maxLength: 3 }),
      groups: fc.array(fc.constantFrom('api', 'database', 'websocket', 'calls', 'node', 'go', 'kernel', ''), { maxLength: 3 }),
      matchers: fc.array(selectorLike, { maxLength: 3 }),
      extra: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Necessary conditions for a valid request, written independently of the validator. */
function plausible(b: unknown): boolean {
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return false;
  const o = b as Record<string, unknown>;
  const t = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 8.64e15;
  if (!t(o.min_t) || !t(o.max_t) || (o.min_t as number) >= (o.max_t as number)) return false;
  if ('extra' in o) return false;
  if ((o.max_t as number) < T0 || (o.min_t as number) > T0 + 26 * HOUR) return false;
  return true;
}

describe('API input fuzzing', () => {
  test('random create/estimate bodies never 5xx; a job exists exactly when create said 200, and only for plausible bodies', async () => {
    let created = 0;
    await fc.assert(
      fc.asyncProperty(bodyLike, async (body) => {
        const payload = JSON.stringify(body);
        const before = (await h.store.list()).length;
        const est = await inject('POST', '/jobs/estimate', payload);
        const res = await inject('POST', '/jobs/create', payload);
        expect(res.statusCode).toBeLessThan(500);
        expect(est.statusCode).toBe(res.statusCode);
        expect(res.headers['content-type']).toContain('application/json');
        const after = (await h.store.list()).length;
        if (res.statusCode === 200) {
          expect(plausible(body)).toBe(true);
          expect(after).toBe(before + 1);
          const job = res.json() as DumpJob;
          expect(job.min_t).toBe((body as { min_t: number }).min_t);
          created++;
        } else {
          expect(res.json()).toHaveProperty('error');
          expect(after).toBe(before);
        }
      }),
      { numRuns: RUNS, seed: 1234 },
    );
    expect(created).toBeGreaterThan(RUNS / 50); // the generator does reach valid requests
  });

  test('random raw bytes as a body never 5xx and create nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 64 }), async (raw) => {
        const before = (await h.store.list()).length;
        const res = await inject('POST', '/jobs/create', raw);
        expect(res.statusCode).toBeLessThan(500);
        if (res.statusCode !== 200) expect((await h.store.list()).length).toBe(before);
      }),
      { numRuns: RUNS, seed: 99 },
    );
  });

  test('random ids in every job route never 5xx and never delete a job', async () => {
    const ok = (await inject('POST', '/jobs/create', JSON.stringify({ min_t: T0, max_t: T0 + HOUR }))).json() as DumpJob;
    await waitFor(async () => (await h.store.get(ok.id))?.status === 'success');
    const ids = fc.oneof(
      fc.string({ minLength: 1, maxLength: 40 }),
      fc.stringMatching(/^[a-zA-Z0-9._\-/%]{1,40}$/),
      fc.constantFrom('..', '../' + ok.id, ok.id + '/..', ok.id.toUpperCase(), ok.id + 'a', ok.id.slice(1), '%00' + ok.id.slice(3)),
    );
    await fc.assert(
      fc.asyncProperty(ids, fc.constantFrom('GET /jobs/', 'DELETE /jobs/delete/', 'GET /jobs/download/'), async (id, route) => {
        const [method, prefix] = route.split(' ') as ['GET' | 'DELETE', string];
        if (id === ok.id) return;
        const res = await inject(method, prefix + encodeURIComponent(id));
        expect(res.statusCode).toBeLessThan(500);
        // `..`/`.` segments are resolved by URL parsing before routing (e.g. /jobs/.. is the UI page).
        if (res.statusCode < 400) expect(/^\.\.?$/.test(id)).toBe(true);
        expect(await h.store.get(ok.id)).not.toBeNull();
      }),
      { numRuns: RUNS, seed: 7 },
    );
  });

  test('random Authorization headers and cookies never 5xx and never get in', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 }), async (auth, cookie) => {
        const headers: Record<string, string> = {};
        // Header values must be legal bytes for the HTTP layer; inject validates them like node does.
        if (/^[\t\x20-\x7e]*$/.test(auth)) headers.authorization = auth;
        if (/^[\t\x20-\x7e]*$/.test(cookie)) headers.cookie = cookie;
        if (headers.authorization?.trim().split(/\s+/)[1] === TOKEN) return;
        const res = await inject('GET', '/jobs', undefined, headers);
        expect(res.statusCode).toBe(401);
      }),
      { numRuns: RUNS, seed: 5 },
    );
  });

  test('random Range headers give 200, 206 or 416 with a body as long as Content-Length says', async () => {
    const job = (await h.store.list()).find((j) => j.status === 'success')!;
    const range = fc.oneof(
      fc.tuple(fc.option(fc.integer({ min: 0, max: job.size + 10 })), fc.option(fc.integer({ min: 0, max: job.size + 10 }))).map(([a, b]) => `bytes=${a ?? ''}-${b ?? ''}`),
      fc.string({ maxLength: 20 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
    );
    await fc.assert(
      fc.asyncProperty(range, async (r) => {
        const res = await inject('GET', `/jobs/download/${job.id}`, undefined, { ...AUTH, range: r });
        expect([200, 206, 416]).toContain(res.statusCode);
        if (res.statusCode !== 416) expect(res.rawPayload.length).toBe(Number(res.headers['content-length']));
        if (res.statusCode === 200) expect(res.rawPayload.length).toBe(job.size);
      }),
      { numRuns: RUNS, seed: 11 },
    );
  });
});
