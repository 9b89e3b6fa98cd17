/**
 * Hostile and broken targets: every one fails (or survives) one scrape with a clear
 * error, never crashes the loop, never keeps a partial scrape, and stays within
 * bounded memory. Plus property tests of the append core.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Labels } from '../../src/storage/index.js';
import { newParser } from '../../src/textparse/index.js';
import { AppendResult, ExpositionAppender, ScrapeError, ScrapeErrorCode, ScrapeLoop, newTarget, scrapeConfigWith, type ScrapeConfig } from '../../src/scrape/index.js';
import { CountingAppendable, MemoryStorage } from '../support/memory-appender.js';
import { TargetServer, hang, html, text } from '../support/target-server.js';
import { freePort } from '../support/prometheus.js';
import { TEXT_CONTENT_TYPE } from '../support/mm-exposition.js';

let server: TargetServer;
beforeAll(async () => {
  server = await TargetServer.start();
});
afterAll(async () => {
  await server.close();
});

function cfg(path: string, o: Partial<ScrapeConfig> = {}): ScrapeConfig {
  return scrapeConfigWith('bad', { scrapeInterval: 2000, scrapeTimeout: 400, metricsPath: path, ...o });
}

async function scrapeOnce(path: string, o: Partial<ScrapeConfig> = {}, address = server.address): Promise<{ st: MemoryStorage; loop: ScrapeLoop }> {
  const st = new MemoryStorage();
  const loop = new ScrapeLoop(newTarget(cfg(path, o), { __address__: address }), st, { newParser });
  await loop.scrapeAndReport(Date.now());
  await loop.stop();
  return { st, loop };
}

/** Names of stored series other than the five report series. */
function exposed(st: MemoryStorage): string[] {
  const report = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']);
  return st
    .all()
    .filter((s) => s.ts.length > 0 && !report.has(s.lset.get('__name__')))
    .map((s) => s.lset.get('__name__'));
}

function upValue(st: MemoryStorage): number {
  return st.all().find((s) => s.lset.get('__name__') === 'up')!.vs.at(-1)!;
}

const enc = new TextEncoder();

describe('bad targets fail one scrape cleanly', () => {
  test.each<{ name: string; reply: Parameters<TargetServer['define']>[1]; o?: Partial<ScrapeConfig>; err: RegExp }>([
    { name: 'a malformed line', reply: () => text('ok 1\nthis is not a sample\n'), err: /line 2/ },
    { name: 'a body over the size limit', reply: () => text('x 1\n'.repeat(10_000)), o: { bodySizeLimit: 1000 }, err: /^body size limit exceeded$/ },
    { name: 'too many samples', reply: () => text('a 1\nb 1\nc 1\n'), o: { sampleLimit: 2 }, err: /^sample limit exceeded$/ },
    { name: 'a hang past the timeout', reply: hang(), err: /context deadline exceeded/ },
    { name: 'an HTML login page', reply: () => html(), err: /line 1/ },
    { name: 'invalid UTF-8 in a label value', reply: () => text(new Uint8Array([...enc.encode('a{x="'), 0xc3, 0x28, ...enc.encode('"} 1\n')])), err: /line 1.*UTF-8|invalid metric name or label names/i },
    { name: 'an invalid label name', reply: () => text('a{1x="v"} 1\n'), err: /line 1/ },
    { name: 'an unknown TYPE', reply: () => text('# TYPE a countr\na 1\n'), err: /line 1/ },
    { name: 'a CRLF body', reply: () => text('a 1\r\n'), err: /line 1/ },
  ])('$name', async ({ reply, o, err }) => {
    const path = '/bad-' + Math.random().toString(36).slice(2);
    server.define(path, reply);
    const { st, loop } = await scrapeOnce(path, o);
    expect(loop.status().health).toBe('down');
    expect(loop.status().lastError).toMatch(err);
    expect(upValue(st)).toBe(0);
    expect(exposed(st)).toEqual([]);
  });

  test('connection refused', async () => {
    const port = await freePort();
    const { st, loop } = await scrapeOnce('/metrics', {}, `127.0.0.1:${port}`);
    expect(loop.status().lastError).toMatch(/connection refused/);
    expect(upValue(st)).toBe(0);
  });

  test('a 10 MB label value is stored intact (no limit), or fails with label_value_length_limit', async () => {
    const big = 'v'.repeat(10 * 1024 * 1024);
    server.define('/huge-label', () => text(`big{x="${big}"} 1\nsmall 2\n`));
    const a = await scrapeOnce('/huge-label', { scrapeTimeout: 1900 });
    expect(a.loop.status().lastError).toBe('');
    expect(a.st.all().find((s) => s.lset.get('__name__') === 'big')!.lset.get('x').length).toBe(big.length);
    const b = await scrapeOnce('/huge-label', { scrapeTimeout: 1900, labelValueLengthLimit: 1024 });
    expect(b.loop.status().lastError).toMatch(/^label_value_length_limit exceeded \(metric: big, label name: x, value: "v{50}", length: 10485760, limit: 1024\)$/);
  });
});

describe('a million distinct series in one body', () => {
  const N = 1_000_000;
  let body: Uint8Array;
  beforeAll(() => {
    const parts: string[] = [];
    for (let i = 0; i < N; i++) parts.push(`churn_metric{id="${i}",pod="p${i % 97}"} ${i}\n`);
    body = enc.encode(parts.join(''));
  });

  test('with a sample limit: a clear error, memory bounded by the limit, nothing stored', async () => {
    const st = new MemoryStorage();
    const core = new ExpositionAppender(Labels.fromObject({ job: 'j', instance: 'i' }), limits({ sampleLimit: 10_000 }), newParser);
    const res = new AppendResult();
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    const app = st.appender();
    core.append(app, body, TEXT_CONTENT_TYPE, Date.now(), res);
    await app.rollback();
    const grown = process.memoryUsage().heapUsed - before;
    expect(res.err?.code).toBe(ScrapeErrorCode.SampleLimit);
    expect(res.total).toBe(N);
    expect(core.cache.size).toBe(10_000);
    expect(core.cache.staleIdCount).toBe(10_000);
    // Garbage from parsing is collectable; what is retained is bounded by the limit.
    globalThis.gc?.();
    const retained = process.memoryUsage().heapUsed - before;
    expect(Math.min(grown, retained)).toBeLessThan(200 * 1024 * 1024);
  }, 120_000);

  test('without a limit: all stored through the cache, no crash, memory proportional to series', async () => {
    const counting = new CountingAppendable();
    const core = new ExpositionAppender(Labels.fromObject({ job: 'j', instance: 'i' }), limits({}), newParser);
    const res = new AppendResult();
    const before = process.memoryUsage().heapUsed;
    const app = counting.appender();
    core.append(app, body, TEXT_CONTENT_TYPE, Date.now(), res);
    await app.commit();
    expect(res.err).toBeNull();
    expect([res.total, res.seriesAdded, counting.samples]).toEqual([N, N, N]);
    expect(core.cache.size).toBe(N);
    const perSeries = (process.memoryUsage().heapUsed - before) / N;
    expect(perSeries).toBeLessThan(1024);
    // The second scrape of the same body is all cache hits.
    const app2 = counting.appender();
    core.append(app2, body, TEXT_CONTENT_TYPE, Date.now() + 1000, res);
    await app2.commit();
    expect([res.err, res.seriesAdded, counting.samples]).toEqual([null, 0, 2 * N]);
  }, 120_000);
});

function limits(o: { sampleLimit?: number }): ConstructorParameters<typeof ExpositionAppender>[1] {
  return { honorLabels: false, honorTimestamps: true, sampleLimit: o.sampleLimit ?? 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0 };
}

describe('properties of the append core', () => {
  const TL = Labels.fromObject({ job: 'j', instance: 'i' });

  test('any bytes: append never throws, and either stores everything it counted or fails with a ScrapeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(TEXT_CONTENT_TYPE, 'application/openmetrics-text'), (bytes, ct) => {
        const st = new MemoryStorage();
        const core = new ExpositionAppender(TL, limits({}), newParser);
        const res = new AppendResult();
        const app = st.appender();
        core.append(app, bytes, ct, 1000, res);
        if (res.err !== null) expect(res.err).toBeInstanceOf(ScrapeError);
        expect(res.added).toBeLessThanOrEqual(res.total);
      }),
      { numRuns: 2000, seed: 42 },
    );
  });

  const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/);
  const value = fc.string({ maxLength: 6 }).filter((s) => !/[\ud800-\udfff]/.test(s));
  const seriesArb = fc.uniqueArray(fc.tuple(name, fc.dictionary(fc.stringMatching(/^l[a-z0-9_]{0,4}$/), value, { maxKeys: 3 })), {
    maxLength: 8,
    selector: ([n, ls]) => n + JSON.stringify(Object.entries(ls).sort()),
  });
  const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

  test('staleness: the markers of scrape i are exactly the series of scrape i−1 missing from scrape i', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(seriesArb, { minLength: 1, maxLength: 6 }), async (scrapes) => {
        const st = new MemoryStorage();
        const core = new ExpositionAppender(TL, limits({}), newParser);
        const res = new AppendResult();
        let prev = new Set<string>();
        for (let i = 0; i < scrapes.length; i++) {
          const set = scrapes[i]!;
          const body = set.map(([n, ls]) => `${n}{${Object.entries(ls).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}} ${i}\n`).join('');
          const app = st.appender();
          core.append(app, enc.encode(body), TEXT_CONTENT_TYPE, 1000 * (i + 1), res);
          expect(res.err).toBeNull();
          await app.commit();
          const cur = new Set(set.map(([n, ls]) => Labels.fromObject({ ...ls, __name__: n, job: 'j', instance: 'i' }).key()));
          const wantStale = [...prev].filter((k) => !cur.has(k)).sort();
          const gotStale = st
            .all()
            .filter((s) => s.ts.at(-1) === 1000 * (i + 1) && s.stale.at(-1) === 1)
            .map((s) => s.lset.key())
            .sort();
          expect(gotStale).toEqual(wantStale);
          for (const k of cur) {
            const s = st.all().find((x) => x.lset.key() === k)!;
            expect([s.ts.at(-1), s.vs.at(-1), s.stale.at(-1)]).toEqual([1000 * (i + 1), i, 0]);
          }
          prev = cur;
        }
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
