/**
 * Property test of deletion against a model: random scrapes, deletes (any series subset,
 * any range, reaching into blocks, the head or both), maintenance passes (head cuts,
 * checkpoints, compactions), cleanTombstones and reopens. After every step the DB must
 * return exactly the model (accepted samples minus deleted ones), for the whole range
 * and for sub-ranges.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Labels, Matcher, MatchType, StorageError, ValueType } from '../../../src/storage/index.js';
import { openDB, type DB } from '../../../src/tsdb/db.js';
import { quietLogger as quiet } from '../../support/tsdb.js';

const RANGE = 60_000; // 1-minute blocks
const SERIES = [0, 1, 2, 3].map((i) => Labels.fromObject({ __name__: 'm', s: String(i) }));
const SOAK = process.env.MM_SOAK === '1';

type Op =
  | { k: 'scrape'; dt: number; v: number }
  | { k: 'delete'; mask: number; back: number; len: number }
  | { k: 'compact' }
  | { k: 'clean' }
  | { k: 'reopen' };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 20, arbitrary: fc.record({ k: fc.constant('scrape' as const), dt: fc.oneof({ weight: 8, arbitrary: fc.constant(5_000) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 150_000 }) }), v: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('delete' as const), mask: fc.integer({ min: 1, max: 15 }), back: fc.integer({ min: -10_000, max: 400_000 }), len: fc.integer({ min: 0, max: 200_000 }) }) },
  { weight: 3, arbitrary: fc.constant({ k: 'compact' as const }) },
  { weight: 2, arbitrary: fc.constant({ k: 'clean' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'reopen' as const }) },
);

function read(db: DB, mint: number, maxt: number): string[] {
  const q = db.querier(mint, maxt);
  const set = q.select(true, null, Matcher.equal('__name__', 'm'));
  const out: string[] = [];
  while (set.next()) {
    const s = set.at().labels().get('s');
    const it = set.at().iterator();
    while (it.next() === ValueType.Float) out.push(`${s} ${it.atT()} ${it.atV()}`);
    expect(it.err()).toBeNull();
  }
  expect(set.err()).toBeNull();
  q.close();
  return out;
}

describe('deletion against a model', () => {
  test('random scrapes, deletes, maintenance, cleanTombstones and reopens return exactly the model', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mm-del-model-'));
    let run = 0;
    // What the runs exercised: checked at the end, so the property cannot pass vacuously.
    const seen = { blockIntervals: 0, headIntervals: 0, cleaned: 0, deletedSamples: 0, headCuts: 0 };
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 30, maxLength: 120, size: 'max' }), async (ops) => {
          const dir = join(root, `r${run++}`);
          const opts = { logger: quiet, blockRange: RANGE, retentionMs: 0, maxBlockDuration: 9 * RANGE, walSync: false, walSegmentSize: 32 * 1024 };
          let db = await openDB(dir, opts);
          const model = new Map<string, { t: number; v: number }[]>();
          let t = 1_700_000_000_000;
          try {
            for (const op of ops) {
              if (op.k === 'compact') await db.compact();
              else if (op.k === 'clean') seen.cleaned += (await db.cleanTombstones()).replaced.length;
              else if (op.k === 'reopen') {
                await db.close();
                db = await openDB(dir, opts);
              } else if (op.k === 'delete') {
                const sel = SERIES.map((_, i) => i).filter((i) => ((op.mask >> i) & 1) === 1);
                const mint = t - op.back;
                const maxt = mint + op.len;
                const r = await db.delete(mint, maxt, [Matcher.equal('__name__', 'm'), new Matcher(MatchType.Regexp, 's', sel.join('|'))]);
                seen.blockIntervals += r.blockIntervals;
                seen.headIntervals += r.headIntervals;
                for (const i of sel) {
                  const l = model.get(String(i));
                  if (!l) continue;
                  const keep = l.filter((x) => x.t < mint || x.t > maxt);
                  seen.deletedSamples += l.length - keep.length;
                  model.set(String(i), keep);
                }
              } else {
                t += op.dt;
                const app = db.appender();
                const accepted: number[] = [];
                for (let i = 0; i < SERIES.length; i++) {
                  try {
                    app.append(0, SERIES[i]!, t, op.v * 10 + i);
                    accepted.push(i);
                  } catch (e) {
                    expect(e).toBeInstanceOf(StorageError);
                  }
                }
                await app.commit();
                for (const i of accepted) {
                  const l = model.get(String(i)) ?? [];
                  l.push({ t, v: op.v * 10 + i });
                  model.set(String(i), l);
                }
              }
              const want: string[] = [];
              for (const [s, l] of [...model].sort()) for (const x of l) want.push(`${s} ${x.t} ${x.v}`);
              expect(read(db, -Infinity, Infinity)).toEqual(want);
            }
            const all = read(db, -Infinity, Infinity);
            const ts = [...new Set(all.map((x) => Number(x.split(' ')[1])))].sort((a, b) => a - b);
            for (let k = 0; k + 1 < ts.length; k += Math.max(1, Math.floor(ts.length / 6))) {
              const a = ts[k]! + 1;
              const b = ts[Math.min(ts.length - 1, k + 4)]!;
              expect(read(db, a, b)).toEqual(all.filter((x) => Number(x.split(' ')[1]) >= a && Number(x.split(' ')[1]) <= b));
            }
          } finally {
            seen.headCuts += db.metrics.headCuts;
            await db.close();
            await rm(dir, { recursive: true, force: true });
          }
        }),
        { numRuns: SOAK ? 200 : 25, seed: 4242 },
      );
      console.log('delete model exercised', JSON.stringify(seen));
      expect(seen.blockIntervals).toBeGreaterThan(10);
      expect(seen.headIntervals).toBeGreaterThan(10);
      expect(seen.cleaned).toBeGreaterThan(3);
      expect(seen.deletedSamples).toBeGreaterThan(100);
      expect(seen.headCuts).toBeGreaterThan(10);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }, SOAK ? 1_800_000 : 180_000);
});
