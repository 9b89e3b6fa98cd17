/**
 * Property test: random transactions (in-order, out-of-order, duplicate and stale
 * samples over a few series, commits and rollbacks, truncations) against a plain model
 * of the committed samples. Checks what queries return (whole range, random sub-ranges,
 * seeks) and that a WAL replay rebuilds exactly the same head.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DuplicateSampleError, Labels, Matcher, MatchType, OutOfBoundsError, OutOfOrderSampleError, ValueType, type SampleIterator } from '../../../src/storage/index.js';
import { Head } from '../../../src/tsdb/head/head.js';
import { replayWAL } from '../../../src/tsdb/head/replay.js';
import { nopWalLogger, WAL } from '../../../src/tsdb/wal/index.js';

/** Half the default chunk range: the appendable window behind the head's newest sample. */
const H = 3_600_000;
const SERIES = [0, 1, 2].map((i) => Labels.fromObject({ __name__: 'm', s: String(i) }));
type Op =
  | { k: 'append'; s: number; dt: number; v: number; stale: boolean }
  | { k: 'commit' }
  | { k: 'rollback' }
  | { k: 'truncate'; back: number };

/** Time steps: repeats (duplicates), scrape-like steps, small steps back (out of order), jumps across chunk ranges. */
const dtArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 8, arbitrary: fc.constant(15_000) },
  { weight: 2, arbitrary: fc.integer({ min: -40_000, max: 90_000 }) },
  { weight: 1, arbitrary: fc.constant(-15_000) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000_000, max: 4_000_000 }) },
);

/** Few distinct values, so identical duplicates are common; NaN and -0 for bit-level equality. */
const valueArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.constant(1) },
  { weight: 2, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
  { weight: 1, arbitrary: fc.constant(NaN) },
  { weight: 1, arbitrary: fc.constant(-0) },
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ k: fc.constant('append' as const), s: fc.integer({ min: 0, max: 2 }), dt: dtArb, v: valueArb, stale: fc.boolean() }) },
  { weight: 3, arbitrary: fc.constant({ k: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'rollback' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 3_600_000 }) }) },
);

type S = [number, number | 'stale'];
const key = (v: number | 'stale') => (v === 'stale' ? 'stale' : Object.is(v, -0) ? '-0' : String(v));

function drain(it: SampleIterator, first: ValueType = it.next()): S[] {
  const out: S[] = [];
  for (let vt = first; vt === ValueType.Float; vt = it.next()) out.push([it.atT(), it.atStale() ? 'stale' : it.atV()]);
  expect(it.err()).toBeNull();
  return out;
}

function query(head: Head, s: number, mint: number, maxt: number): S[] {
  const set = head.querier(mint, maxt).select(true, null, Matcher.equal('s', String(s)), new Matcher(MatchType.Equal, '__name__', 'm'));
  return set.next() ? drain(set.at().iterator()) : [];
}

describe('head against a model', () => {
  test('random transactions: queries return exactly the committed samples, and replay rebuilds the same head', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mm-head-model-'));
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 20, maxLength: 400, size: 'max' }), fc.integer({ min: 0, max: 1000 }), async (ops, seed) => {
          const walDir = join(dir, `w${run++}`);
          const wal = await WAL.open(walDir, { logger: nopWalLogger, sync: false });
          const head = new Head({ wal });
          const model: S[][] = [[], [], []];
          let pending: [number, number, number | 'stale'][] = [];
          let app = head.appender();
          let t = 1_700_000_000_000;
          let truncatedAt = -Infinity;
          let minValid: number | null = null;
          for (const op of ops) {
            if (op.k === 'append') {
              t += op.dt;
              // The window is fixed by the first sample of the transaction (Prometheus: at creation).
              if (minValid === null) minValid = head.isEmpty() ? Math.max(head.minValidTime, t - H) : Math.max(head.maxTime - H, head.minValidTime);
              const m = model[op.s]!;
              const last = m.length > 0 ? m[m.length - 1]! : null;
              const v: number | 'stale' = op.stale ? 'stale' : op.v;
              const want =
                t < minValid ? OutOfBoundsError : last === null || t > last[0] ? null : t < last[0] ? OutOfOrderSampleError : key(last[1]) === key(v) ? null : DuplicateSampleError;
              const f = () => (op.stale ? app.appendStale(0, SERIES[op.s]!, t) : app.append(0, SERIES[op.s]!, t, op.v));
              if (want === null) {
                f();
                pending.push([op.s, t, v]);
              } else expect(f).toThrow(want);
            } else if (op.k === 'commit' || op.k === 'rollback') {
              if (op.k === 'commit') {
                await app.commit();
                for (const [s, ts, v] of pending) {
                  const m = model[s]!;
                  const last = m.length > 0 ? m[m.length - 1]![0] : -Infinity;
                  if (ts > last && ts >= head.minValidTime) m.push([ts, v]);
                }
              } else await app.rollback();
              pending = [];
              minValid = null;
              app = head.appender();
            } else {
              await app.rollback();
              pending = [];
              minValid = null;
              app = head.appender();
              if (head.isEmpty()) continue;
              const cut = head.maxTime - op.back;
              head.truncateMemory(cut);
              truncatedAt = Math.max(truncatedAt, cut);
              // Whole chunks are dropped: the model keeps what the head still has, which must
              // include every sample at or after the cut.
              for (let s = 0; s < 3; s++) {
                const got = query(head, s, -Infinity, Infinity);
                const want = model[s]!;
                const tail = want.slice(want.length - got.length);
                expect(got.map(([a, b]) => [a, key(b)])).toEqual(tail.map(([a, b]) => [a, key(b)]));
                for (const [ts] of want.slice(0, want.length - got.length)) expect(ts).toBeLessThan(cut);
                model[s] = tail;
              }
            }
          }
          await app.rollback();
          // Whole range, random sub-ranges and seeks.
          let r = seed;
          const rnd = () => (r = (r * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
          for (let s = 0; s < 3; s++) {
            const want = model[s]!;
            expect(query(head, s, -Infinity, Infinity).map(([a, b]) => [a, key(b)])).toEqual(want.map(([a, b]) => [a, key(b)]));
            if (want.length === 0) continue;
            // Bounds and seek targets on sample timestamps ±1, where off-by-ones show.
            const pick = () => want[Math.floor(rnd() * want.length)]![0] + Math.floor(rnd() * 3) - 1;
            for (let q = 0; q < 8; q++) {
              let a = pick();
              let b = pick();
              if (a > b) [a, b] = [b, a];
              expect(query(head, s, a, b).map((x) => x[0])).toEqual(want.filter(([ts]) => ts >= a && ts <= b).map((x) => x[0]));
              const set = head.querier(-Infinity, Infinity).select(true, null, Matcher.equal('s', String(s)));
              expect(set.next()).toBe(true);
              const it = set.at().iterator();
              const seekTo = pick();
              expect(drain(it, it.seek(seekTo)).map((x) => x[0])).toEqual(want.filter(([ts]) => ts >= seekTo).map((x) => x[0]));
            }
          }
          await wal.close();
          // Replay: same samples (from the cut on; replay keeps whole samples, not whole chunks).
          const again = new Head();
          again.minValidTime = head.minValidTime;
          const st = replayWAL(again, { checkpointDir: null, checkpointIndex: null, walDir, fromSegment: 0, toSegment: Infinity });
          expect(st.corruption).toBeNull();
          for (let s = 0; s < 3; s++) {
            const want = model[s]!.filter(([ts]) => ts >= truncatedAt);
            expect(query(again, s, -Infinity, Infinity).map(([a, b]) => [a, key(b)])).toEqual(want.map(([a, b]) => [a, key(b)]));
          }
          await rm(walDir, { recursive: true, force: true });
        }),
        { numRuns: 100, seed: 4242 },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
