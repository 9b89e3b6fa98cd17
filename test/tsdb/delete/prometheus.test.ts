/**
 * Series deletion side by side with the real Prometheus 2.42 (admin API enabled):
 *
 *   base dir (written by us: one 2 h block + a WAL head of 1.5 h) copied to A and B
 *   A: Prometheus deletes via POST /api/v1/admin/tsdb/delete_series (block only, head
 *      only, both), we read A after it stopped → exactly what its API returned
 *   B: we delete the same in our DB → the block's tombstones file is byte-identical to
 *      Prometheus's (one entry) and decodes to the same set (two entries; Go writes map
 *      order), meta.json is byte-identical; Prometheus started on B returns exactly our
 *      post-delete data (our WAL Tombstones records replayed by its code); after our
 *      cleanTombstones, `promtool tsdb dump` prints exactly our samples.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Labels, Matcher, MatchType } from '../../../src/storage/index.js';
import { parseSelector } from '../../../src/storage/selector.js';
import { openDB, openReadOnly, type DB } from '../../../src/tsdb/db.js';
import { readTombstones } from '../../../src/tsdb/tombstones/index.js';
import { havePrometheus, startPrometheus, type Prometheus } from '../../support/prometheus.js';
import { Cleanups, dbSamples, ingest, promSampleLines, quietLogger as quiet } from '../../support/tsdb.js';

const PROMTOOL = '/usr/bin/promtool';
const H = 3_600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % (2 * H)); // aligned to 2 h
const SCRAPES = 14 * 60; // 3.5 h of 15 s samples → block [T0, T0+2h) + head [2h, 3.5h)
const END = T0 + (SCRAPES - 1) * 15_000;
const cleanups = new Cleanups();
afterAll(() => cleanups.run());
const tmp = (): Promise<string> => cleanups.tmp('mm-del-prom-');

/** The deletions, as Prometheus's API takes them (times in ms here, sent as seconds). */
const DELETES = [
  { match: 'test_m{i="1"}', start: T0 + 30 * 60_000, end: T0 + H }, // block only, one series
  { match: '{__name__="test_m", i=~"2|3"}', start: T0 + 2.5 * H, end: T0 + 3 * H }, // head only
  { match: 'test_m{i="4"}', start: T0 + 1.5 * H, end: T0 + 2.25 * H }, // block and head
];

/** Every test_m sample of the DB, sorted. */
function ourSamples(db: DB): string[] {
  return dbSamples(db, -Infinity, Infinity, true, new Matcher(MatchType.Equal, '__name__', 'test_m')).sort();
}

async function promSamples(p: Prometheus): Promise<string[]> {
  return promSampleLines(await p.rawSamples('{__name__="test_m"}', END - T0 + 60_000, END)).sort();
}

async function promDelete(p: Prometheus, d: (typeof DELETES)[number]): Promise<void> {
  const q = new URLSearchParams([['match[]', d.match], ['start', String(d.start / 1000)], ['end', String(d.end / 1000)]]);
  const r = await fetch(`${p.url}/api/v1/admin/tsdb/delete_series?${q.toString()}`, { method: 'POST' });
  expect(r.status, await r.text()).toBe(204);
}

/** What deleting DELETES from `all` leaves (the model). */
function expectedAfter(all: string[]): string[] {
  const sel = DELETES.map((d) => ({ ms: parseSelector(d.match), ...d }));
  return all.filter((line) => {
    const p = line.split(' ');
    const t = Number(p[p.length - 2]);
    const lstr = p.slice(0, -2).join(' ');
    const i = /i="(\d)"/.exec(lstr)![1]!;
    const lset = Labels.fromObject({ __name__: 'test_m', i });
    return !sel.some((d) => t >= d.start && t <= d.end && d.ms.every((m) => m.matches(lset.get(m.name))));
  });
}

describe.skipIf(!havePrometheus || !existsSync(PROMTOOL))('deleting series: mm-metrics and Prometheus 2.42 agree', () => {
  let base = '';
  let all: string[] = [];
  let blockUlid = '';
  let promAfterFirst: Buffer = Buffer.alloc(0);
  let promTombstones: Array<[string, string]> = [];
  let promMeta = '';
  let dirB = '';

  test('base directory: one block and a WAL head, written by us', async () => {
    base = await tmp();
    const db = await openDB(base, { logger: quiet, retentionMs: 0 });
    const lsets = Array.from({ length: 6 }, (_, i) => Labels.fromObject({ __name__: 'test_m', i: String(i) }));
    await ingest(db, lsets, SCRAPES, (k) => T0 + k * 15_000, (k, i) => k * 10 + i);
    await db.compact();
    expect(db.blocks().map((m) => [m.minTime, m.maxTime])).toEqual([[T0, T0 + 2 * H]]);
    blockUlid = db.blocks()[0]!.ulid;
    all = ourSamples(db);
    expect(all.length).toBe(6 * SCRAPES);
    await db.close();
  });

  test('(a) Prometheus deletes (block, head, both); we read its directory and return exactly what its API returned', async () => {
    const dirA = await tmp();
    await cp(base, dirA, { recursive: true });
    const prom = await startPrometheus({ dataDir: dirA, args: ['--storage.tsdb.retention.time=100y'] });
    cleanups.defer(() => prom.stop());
    expect(await promSamples(prom)).toEqual(all);
    await promDelete(prom, DELETES[0]!);
    promAfterFirst = await readFile(join(dirA, blockUlid, 'tombstones'));
    await promDelete(prom, DELETES[1]!);
    await promDelete(prom, DELETES[2]!);
    const want = await promSamples(prom);
    await prom.stop();
    expect(want).toEqual(expectedAfter(all));
    expect(want.length).toBeLessThan(all.length);
    const t = readTombstones(join(dirA, blockUlid)).tombstones;
    promTombstones = t.refs().map((r) => [String(r), JSON.stringify(t.get(r))]);
    expect(promTombstones.length).toBe(2);
    promMeta = await readFile(join(dirA, blockUlid, 'meta.json'), 'utf8');
    expect(promMeta).toContain('"numTombstones": 2');

    const ro = await openReadOnly(dirA, { logger: quiet });
    expect(ro.stats().replay?.tombstones).toBeGreaterThan(0);
    expect(ourSamples(ro)).toEqual(want);
    await ro.close();
    const rw = await openDB(dirA, { logger: quiet, retentionMs: 0 });
    expect(ourSamples(rw)).toEqual(want);
    await rw.close();
  }, 120_000);

  test('(b) we delete the same: tombstones and meta.json as Prometheus wrote them; Prometheus returns exactly our data', async () => {
    dirB = await tmp();
    await cp(base, dirB, { recursive: true });
    const db = await openDB(dirB, { logger: quiet, retentionMs: 0 });
    const d0 = DELETES[0]!;
    await db.delete(d0.start, d0.end, parseSelector(d0.match));
    expect((await readFile(join(dirB, blockUlid, 'tombstones'))).equals(promAfterFirst)).toBe(true);
    for (const d of DELETES.slice(1)) await db.delete(d.start, d.end, parseSelector(d.match));
    const t = readTombstones(join(dirB, blockUlid)).tombstones;
    expect(t.refs().map((r) => [String(r), JSON.stringify(t.get(r))])).toEqual(promTombstones);
    expect(await readFile(join(dirB, blockUlid, 'meta.json'), 'utf8')).toBe(promMeta);
    const ours = ourSamples(db);
    expect(ours).toEqual(expectedAfter(all));
    await db.close();

    const prom = await startPrometheus({ dataDir: dirB, args: ['--storage.tsdb.retention.time=100y'] });
    cleanups.defer(() => prom.stop());
    expect(await promSamples(prom)).toEqual(ours);
    await prom.stop();
  }, 120_000);

  test('(b) after our cleanTombstones, promtool tsdb dump prints exactly our samples', async () => {
    const db = await openDB(dirB, { logger: quiet, retentionMs: 0, compaction: false });
    const ours = ourSamples(db);
    const res = await db.cleanTombstones();
    expect(res.replaced).toEqual([blockUlid]);
    expect(ourSamples(db)).toEqual(ours);
    const newUlid = res.created[0]!;
    await db.close();
    // The cleaned block alone (promtool reads the block; its range ends before the head).
    const dump = spawnSync(PROMTOOL, ['tsdb', 'dump', `--min-time=${T0}`, `--max-time=${T0 + 2 * H - 1}`, dirB], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(dump.status, dump.stderr).toBe(0);
    const got: string[] = [];
    for (const line of dump.stdout.split('\n')) {
      if (line === '') continue;
      const m = /^\{__name__="test_m", i="(\d)"\} (\S+) (-?\d+)$/.exec(line);
      expect(m, line).not.toBeNull();
      got.push(`{__name__="test_m", i="${m![1]}"} ${m![3]} ${Number(m![2])}`);
    }
    const inBlock = ours.filter((l) => {
      const p = l.split(' ');
      return Number(p[p.length - 2]) < T0 + 2 * H;
    });
    expect(got.sort()).toEqual(inBlock);
    const list = spawnSync(PROMTOOL, ['tsdb', 'list', dirB], { encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toContain(newUlid);
    expect(list.stdout).not.toContain(blockUlid);
  }, 60_000);
});
