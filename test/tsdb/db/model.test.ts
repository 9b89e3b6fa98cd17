/**
 * Property test of the whole DB: random scrapes (gaps across block ranges, stale markers,
 * rejected samples), maintenance passes (head cuts, WAL checkpoints, block compaction) and
 * reopens, against a model of the accepted samples. After every step the DB must return
 * exactly the model for the whole range and for random sub-ranges.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Labels, Matcher, StorageError, ValueType } from '../../../src/storage/index.js';
import { openDB, type DB } from '../../../src/tsdb/db.js';

const quiet = { info: () => {}, warn: () => {} };
const RANGE = 60_000; // 1-minute blocks: cuts and compactions after a few dozen scrapes
const SERIES = [0, 1, 2, 3].map((i) => Labels.fromObject({ __name__: 'm', s: String(i) }));

type Op = { k: 'scrape'; dt: number; present: number; v: number } | { k: 'compact' } | { k: 'reopen' };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 20, arbitrary: fc.record({ k: fc.constant('scrape' as const), dt: fc.oneof({ weight: 8, arbitrary: fc.constant(5_000) }, { weight: 1, arbitrary: fc.integer({ min: -6_000, max: 200_000 }) }), present: fc.integer({ min: 0, max: 15 }), v: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 2, arbitrary: fc.constant({ k: 'compact' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'reopen' as const }) },
);

type S = string; // "series t value"

function read(db: DB, mint: number, maxt: number): S[] {
  const q = db.querier(mint, maxt);
  const set = q.select(true, null, Matcher.equal('__name__', 'm'));
  const out: S[] = [];
  while (set.next()) {
    const s = set.at().labels().get('s');
    const it = set.at().iterator();
    while (it.next() === ValueType.Float) out.push(`${s} ${it.atT()} ${it.atStale() ? 'stale' : it.atV()}`);
    expect(it.err()).toBeNull();
  }
  expect(set.err()).toBeNull();
  q.close();
  return out;
}

describe('DB against a model', () => {
  test('random scrapes, maintenance and reopens return exactly the accepted samples', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mm-db-model-'));
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 30, maxLength: 150, size: 'max' }), async (ops) => {
          const dir = join(root, `r${run++}`);
          const opts = { logger: quiet, blockRange: RANGE, retentionMs: 0, maxBlockDuration: 9 * RANGE, walSync: false, walSegmentSize: 32 * 1024 };
          let db = await openDB(dir, opts);
          const model = new Map<string, { t: number; v: string }[]>();
          const wasPresent = new Set<number>();
          let t = 1_700_000_000_000;
          try {
            for (const op of ops) {
              if (op.k === 'compact') {
                await db.compact();
              } else if (op.k === 'reopen') {
                await db.close();
                db = await openDB(dir, opts);
              } else {
                t += op.dt;
                const app = db.appender();
                const accepted: [number, string][] = [];
                for (let i = 0; i < SERIES.length; i++) {
                  const present = ((op.present >> i) & 1) === 1;
                  // Like the scrape loop: a series that disappears gets one stale marker.
                  const stale = !present && wasPresent.has(i);
                  if (!present && !stale) continue;
                  try {
                    if (stale) app.appendStale(0, SERIES[i]!, t);
                    else app.append(0, SERIES[i]!, t, op.v + i);
                    accepted.push([i, stale ? 'stale' : String(op.v + i)]);
                  } catch (e) {
                    expect(e).toBeInstanceOf(StorageError);
                  }
                  if (present) wasPresent.add(i);
                  else wasPresent.delete(i);
                }
                await app.commit();
                for (const [i, v] of accepted) {
                  const l = model.get(String(i)) ?? [];
                  const last = l[l.length - 1];
                  if (last === undefined || t > last.t) l.push({ t, v });
                  model.set(String(i), l);
                }
              }
              const want: S[] = [];
              for (const [s, l] of [...model].sort()) for (const x of l) want.push(`${s} ${x.t} ${x.v}`);
              expect(read(db, -Infinity, Infinity)).toEqual(want);
            }
            // Sub-ranges on sample timestamps, across block and head boundaries.
            const all = read(db, -Infinity, Infinity);
            const ts = [...new Set(all.map((x) => Number(x.split(' ')[1])))].sort((a, b) => a - b);
            for (let k = 0; k + 1 < ts.length; k += Math.max(1, Math.floor(ts.length / 7))) {
              const a = ts[k]!;
              const b = ts[Math.min(ts.length - 1, k + 5)]! - 1;
              expect(read(db, a, b)).toEqual(all.filter((x) => Number(x.split(' ')[1]) >= a && Number(x.split(' ')[1]) <= b));
            }
          } finally {
            await db.close();
            await rm(dir, { recursive: true, force: true });
          }
        }),
        { numRuns: 15, seed: 777 },
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }, 180_000);
});
