/**
 * Side by side with the real Prometheus 2.42 and promtool:
 *  - a directory we wrote (blocks cut from the head + a WAL holding the rest) is listed,
 *    analysed and dumped by promtool with exactly our samples, and a Prometheus started
 *    on it returns exactly our samples;
 *  - a directory Prometheus wrote (it scraped a local target, then SIGTERM) read with
 *    openReadOnly returns the samples Prometheus's API returned.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Labels } from '../../../src/storage/index.js';
import { openDB, openReadOnly } from '../../../src/tsdb/db.js';
import { havePrometheus, startPrometheus, type Prometheus } from '../../support/prometheus.js';
import { Cleanups, dbSamples, fmtValue as fmt, promSampleLines, promValue, quietLogger as quiet, scrapingPrometheus } from '../../support/tsdb.js';

const PROMTOOL = '/usr/bin/promtool';
const cleanups = new Cleanups();
afterAll(() => cleanups.run());
const tmp = (): Promise<string> => cleanups.tmp('mm-db-prom-');

/** "labels t value" lines; value as JS renders it ("NaN", "Infinity", "-0" kept apart), stale as "stale". */
type Sample = string;

describe.skipIf(!havePrometheus || !existsSync(PROMTOOL))('Prometheus 2.42 opens what we write', () => {
  const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 7_200_000) + 1_234_567; // unaligned first sample
  const SCRAPES = 5 * 240; // 5 h of 15 s samples: 2 blocks cut, the rest in the WAL
  const specials = [NaN, Infinity, -Infinity, -0, 1e-300, 2 ** 53, 0.1];
  const written: Sample[] = [];
  let dir = '';

  test('we write a directory: blocks cut from the head, the rest in the WAL', async () => {
    dir = await tmp();
    const db = await openDB(dir, { retentionMs: 0, logger: quiet });
    cleanups.defer(() => db.close());
    const lsets = Array.from({ length: 30 }, (_, i) =>
      Labels.fromObject({ __name__: i % 3 === 0 ? 'test_gauge' : 'test_counter_total', instance: `host-${i % 4}:9100`, job: 'node', idx: String(i), path: i === 7 ? 'ünïcödé/ø' : '' }),
    );
    const refs = new Array<number>(lsets.length).fill(0);
    for (let k = 0; k < SCRAPES; k++) {
      const app = db.appender();
      const t = T0 + k * 15_000 + (k % 3); // small jitter, like real scrapes
      for (let i = 0; i < lsets.length; i++) {
        const l = lsets[i]!;
        // series 5 goes stale for a while every 100 scrapes
        if (i === 5 && k % 100 >= 90) {
          if (k % 100 === 90) {
            refs[i] = app.appendStale(refs[i]!, l, t);
            written.push(`${l.toString()} ${t} stale`);
          }
          continue;
        }
        const v = i === 9 ? specials[k % specials.length]! : i % 3 === 0 ? Math.sin(k / 10) * 100 : k * (i + 1);
        refs[i] = app.append(refs[i]!, l, t, v);
        written.push(`${l.toString()} ${t} ${fmt(v)}`);
      }
      await app.commit();
    }
    await db.compact();
    const metas = db.blocks();
    expect(metas.length).toBeGreaterThanOrEqual(2);
    expect(metas[0]!.minTime).toBe(T0);
    // Block ends are aligned to 2 h; a block starts at the first sample the head kept (Prometheus sets the
    // head's min time to the actual data after truncation, so starts are unaligned when scrapes are).
    for (const [i, m] of metas.entries()) {
      expect(m.maxTime % 7_200_000).toBe(0);
      if (i > 0) expect(m.minTime).toBeGreaterThanOrEqual(metas[i - 1]!.maxTime);
    }
    expect(dbSamples(db).sort()).toEqual([...written].sort());
    await db.close();
    expect((await readdir(join(dir, 'wal'))).length).toBeGreaterThan(0);
  });

  test('promtool tsdb list and analyze accept it', () => {
    const list = spawnSync(PROMTOOL, ['tsdb', 'list', dir], { encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    const ulids = list.stdout.split('\n').slice(1).filter((l) => l.trim() !== '').map((l) => l.split(/\s+/)[0]);
    expect(ulids.length).toBeGreaterThanOrEqual(2);
    const analyze = spawnSync(PROMTOOL, ['tsdb', 'analyze', dir], { encoding: 'utf8' });
    expect(analyze.status, analyze.stderr).toBe(0);
    expect(analyze.stdout).toContain('Block ID:');
  });

  test('promtool tsdb dump (blocks + our WAL replayed by Prometheus code) prints exactly our samples', () => {
    const dump = spawnSync(PROMTOOL, ['tsdb', 'dump', dir], { encoding: 'utf8', maxBuffer: 256 << 20 });
    expect(dump.status, dump.stderr).toBe(0);
    const got: Sample[] = [];
    for (const line of dump.stdout.split('\n')) {
      if (line === '') continue;
      const m = /^(\{.*\}) (\S+) (-?\d+)$/.exec(line);
      expect(m, line).not.toBeNull();
      const lset = Labels.fromObject(Object.fromEntries([...m![1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, JSON.parse(`"${x[2]!}"`) as string])));
      got.push(`${lset.toString()} ${m![3]} ${m![2]}`);
    }
    // promtool prints values with %g-like Go formatting and stale markers as NaN: compare numerically.
    const norm = (s: string): string => {
      const i = s.lastIndexOf(' ');
      const v = s.slice(i + 1);
      return s.slice(0, i) + ' ' + (v === 'stale' ? 'NaN' : fmt(promValue(v)));
    };
    expect(got.map(norm).sort()).toEqual(written.map(norm).sort());
  });

  test('Prometheus started on the directory answers with exactly our samples', async () => {
    const prom: Prometheus = await startPrometheus({ dataDir: dir, args: ['--storage.tsdb.retention.time=100y'] });
    cleanups.defer(() => prom.stop());
    const end = T0 + SCRAPES * 15_000;
    const res = await prom.rawSamples('{__name__=~"test_.+"}', end - T0 + 60_000, end);
    const got: Sample[] = promSampleLines(res);
    // Range vectors drop stale markers.
    expect(got.sort()).toEqual(written.filter((s) => !s.endsWith(' stale')).sort());
    // An instant query right after the stale marker sees the series gone.
    const staleAt = T0 + 90 * 15_000;
    const v = await prom.query('test_counter_total{idx="5"}', staleAt + 1);
    expect(v.resultType === 'vector' && v.result.length).toBe(0);
    await prom.stop();
  }, 60_000);
});

describe.skipIf(!havePrometheus)('we read what Prometheus 2.42 writes', () => {
  test('openReadOnly on a directory Prometheus scraped into returns the samples its API returned', async () => {
    const { prom } = await scrapingPrometheus(cleanups, { series: 300, seed: 3, interval: '1s', timeout: '1s' });
    await new Promise((r) => setTimeout(r, 10_000));
    const at = Date.now();
    const res = await prom.rawSamples('{__name__=~".+"}', 3_600_000, at);
    await prom.stop();
    const want: Sample[] = promSampleLines(res);
    expect(want.length).toBeGreaterThan(300 * 5);
    const db = await openReadOnly(prom.dataDir, { logger: quiet });
    try {
      expect(db.stats().replay?.corruption ?? null).toBeNull();
      const got = dbSamples(db, at - 3_600_000 + 1, at, false);
      expect(got.sort()).toEqual(want.sort());
    } finally {
      await db.close();
    }

    // Round trip: we open Prometheus's directory for writing, append to an existing series and
    // a new one, close; Prometheus started again on it returns its samples and ours.
    const w = await openDB(prom.dataDir, { logger: quiet, retentionMs: 0 });
    const existing = Labels.fromObject(res[0]!.metric);
    const fresh = Labels.fromObject({ __name__: 'mm_written_by_us', k: 'v' });
    const t1 = Math.max(...res.flatMap((s) => s.values.map((x) => x.t))) + 60_000;
    const app = w.appender();
    app.append(0, existing, t1, 42);
    app.append(0, fresh, t1, 7);
    await app.commit();
    const before = dbSamples(w, -Infinity, Infinity, false);
    await w.close();
    const prom2 = await startPrometheus({ dataDir: prom.dataDir, args: ['--storage.tsdb.retention.time=100y'] });
    cleanups.defer(() => prom2.stop());
    const res2 = await prom2.rawSamples('{__name__=~".+"}', 3_600_000, t1 + 1);
    await prom2.stop();
    const got2: Sample[] = promSampleLines(res2.filter((s) => s.metric.job !== 'prometheus')); // prom2 scrapes nothing; guard anyway
    expect(got2.sort()).toEqual(before.filter((x) => Number(x.split(' ').at(-2)) > t1 + 1 - 3_600_000).sort());
    expect(got2).toContain(`${fresh.toString()} ${t1} 7`);
  }, 120_000);
});
