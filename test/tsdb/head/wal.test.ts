import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Labels, Matcher, ValueType } from '../../../src/storage/index.js';
import { CommitError } from '../../../src/tsdb/head/head-append.js';
import { Head } from '../../../src/tsdb/head/head.js';
import { replayWAL } from '../../../src/tsdb/head/replay.js';
import { lastCheckpoint, nopWalLogger, WAL } from '../../../src/tsdb/wal/index.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mm-head-wal-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Every sample of the head as "labels t v" lines, sorted; stale markers as "stale". */
function dump(head: Head): string[] {
  const set = head.querier(-Infinity, Infinity).select(true, null, new Matcher(2, '__name__', '.+'));
  const out: string[] = [];
  while (set.next()) {
    const s = set.at();
    const it = s.iterator();
    while (it.next() === ValueType.Float) out.push(`${s.labels().toString()} ${it.atT()} ${it.atStale() ? 'stale' : Object.is(it.atV(), -0) ? '-0' : String(it.atV())}`);
  }
  return out;
}

async function replayInto(walDir: string, minValidTime = -Infinity): Promise<Head> {
  const head = new Head();
  head.minValidTime = minValidTime;
  const cp = await lastCheckpoint(walDir);
  const stats = replayWAL(head, { checkpointDir: cp?.dir ?? null, checkpointIndex: cp?.index ?? null, walDir, fromSegment: cp ? cp.index + 1 : 0, toSegment: Infinity });
  expect(stats.corruption).toBeNull();
  return head;
}

describe('head with a WAL', () => {
  test('a replayed head equals the head before restart, stale markers and special values included', async () => {
    const dir = await tmp();
    const wal = await WAL.open(dir, { logger: nopWalLogger, segmentSize: 64 * 1024 });
    const head = new Head({ wal });
    const values = [0, -0, 1.5, NaN, Infinity, -Infinity, 1e-300, 123456789.123];
    for (let scrape = 0; scrape < 300; scrape++) {
      const app = head.appender();
      for (let s = 0; s < 40; s++) {
        const l = Labels.fromObject({ __name__: `m${s % 7}`, inst: `i${s}` });
        const t = 1_700_000_000_000 + scrape * 15_000;
        if (s === 3 && scrape % 10 === 9) app.appendStale(0, l, t);
        else app.append(0, l, t, values[(scrape + s) % values.length]!);
      }
      await app.commit();
    }
    const before = dump(head);
    expect(before.length).toBe(300 * 40);
    await wal.close();
    const again = await replayInto(dir);
    expect(dump(again)).toEqual(before);
    expect(again.stats()).toEqual(head.stats());
    expect(again.lastSeriesRef).toBe(40);
    // New series after replay get fresh refs.
    const app = again.appender();
    expect(app.append(0, Labels.fromObject({ __name__: 'new' }), 1_800_000_000_000, 1)).toBe(41);
    await app.rollback();
  });

  test('a failed WAL write rejects the commit and applies nothing', async () => {
    const dir = await tmp();
    const wal = await WAL.open(dir, { logger: nopWalLogger });
    const head = new Head({ wal });
    let app = head.appender();
    app.append(0, Labels.fromObject({ __name__: 'a' }), 1000, 1);
    await app.commit();
    await wal.close(); // every later log() rejects
    app = head.appender();
    app.append(0, Labels.fromObject({ __name__: 'a' }), 2000, 2);
    app.append(0, Labels.fromObject({ __name__: 'b' }), 2000, 2);
    await expect(app.commit()).rejects.toBeInstanceOf(CommitError);
    expect(dump(head)).toEqual(['{__name__="a"} 1000 1']);
    expect(head.stats().numSamples).toBe(1);
    expect(head.metrics.commitFailures).toBe(1);
  });

  test('series records are written once, before the first samples that use them', async () => {
    const dir = await tmp();
    const wal = await WAL.open(dir, { logger: nopWalLogger });
    const head = new Head({ wal });
    // Two concurrent transactions create the same series: both log it, replay handles it.
    const a1 = head.appender();
    const a2 = head.appender();
    a1.append(0, Labels.fromObject({ __name__: 'x' }), 1000, 1);
    a2.append(0, Labels.fromObject({ __name__: 'x' }), 2000, 2);
    await Promise.all([a1.commit(), a2.commit()]);
    const a3 = head.appender();
    a3.append(0, Labels.fromObject({ __name__: 'x' }), 3000, 3);
    await a3.commit();
    await wal.close();
    const again = await replayInto(dir);
    expect(dump(again)).toEqual(['{__name__="x"} 1000 1', '{__name__="x"} 2000 2', '{__name__="x"} 3000 3']);
  });

  test('replay drops samples below minValidTime (already persisted in a block)', async () => {
    const dir = await tmp();
    const wal = await WAL.open(dir, { logger: nopWalLogger });
    const head = new Head({ wal });
    for (const t of [1000, 2000, 3000]) {
      const app = head.appender();
      app.append(0, Labels.fromObject({ __name__: 'x' }), t, t);
      await app.commit();
    }
    await wal.close();
    const again = await replayInto(dir, 2000);
    expect(dump(again)).toEqual(['{__name__="x"} 2000 2000', '{__name__="x"} 3000 3000']);
  });
});

describe('series records of every size', () => {
  test('a commit of thousands of new series (a series record of ~1 MB), then commits of a few and of none, all replay', async () => {
    const dir = await tmp();
    const wal = await WAL.open(dir, { logger: nopWalLogger, segmentSize: 4 * 1024 * 1024 });
    const head = new Head({ wal });
    const lset = (i: number): Labels => Labels.fromObject({ __name__: 'big_record', instance: `host-${i}.example.org:9100`, path: `/some/long/path/segment/${i}` });
    let app = head.appender();
    for (let i = 0; i < 8000; i++) app.append(0, lset(i), 1000, i);
    await app.commit();
    // The encoding buffer grown for the big record is dropped; the next records use a fresh one.
    for (let k = 0; k < 3; k++) {
      app = head.appender();
      for (let i = 0; i < 8000 + 5 * (k + 1); i++) app.append(0, lset(i), 2000 + k * 1000, i + k);
      await app.commit();
    }
    await wal.close();
    const got = dump(await replayInto(dir));
    expect(got).toEqual(dump(head));
    expect(got.length).toBe(8000 * 4 + 5 + 10 + 15);
  });
});
