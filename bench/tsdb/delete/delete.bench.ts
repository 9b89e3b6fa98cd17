/**
 * Series deletion benchmarks (run alone: `node --import tsx bench/tsdb/delete/delete.bench.ts`).
 *
 *   FIGURE delete_block_ms                 DB.delete of 10 % of the series over a 2 h block of N series (tombstones + meta.json durable)
 *   FIGURE delete_head_ms                  same selector over the head (WAL Tombstones record durable)
 *   FIGURE query_overhead_with_tombstones  time to read every sample with 10 % of the series tombstoned / without
 *   FIGURE clean_tombstones_s              cleanTombstones rewriting that block
 *
 * N = 10,000 series × 2 h of 15 s samples in the block (+ 1.5 h in the head); MM_BENCH_QUICK=1 uses 1,000.
 * Fixed data, no randomness. Numbers depend on the disk (fsyncs) and on the shared 2-core machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels, Matcher, MatchType, ValueType } from '../../../src/storage/index.js';
import { openDB, type DB } from '../../../src/tsdb/db.js';

const quick = process.env.MM_BENCH_QUICK === '1';
const N = quick ? 1000 : 10_000;
const H = 3_600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % (2 * H));
const quiet = { info: () => {}, warn: () => {} };

function readAll(db: DB): number {
  const q = db.querier(-Infinity, Infinity);
  const set = q.select(true, null, new Matcher(MatchType.Equal, '__name__', 'bench_m'));
  let n = 0;
  let it = null;
  while (set.next()) {
    it = set.at().iterator(it);
    while (it.next() === ValueType.Float) n++;
  }
  q.close();
  return n;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mm-bench-delete-'));
  try {
    const db = await openDB(dir, { logger: quiet, retentionMs: 0, compaction: false, walSync: false });
    const lsets = Array.from({ length: N }, (_, i) => Labels.fromObject({ __name__: 'bench_m', i: String(i), tenth: String(i % 10) }));
    const refs = new Array<number>(N).fill(0);
    for (let k = 0; k < 14 * 60; k++) {
      const app = db.appender();
      for (let i = 0; i < N; i++) refs[i] = app.append(refs[i]!, lsets[i]!, T0 + k * 15_000, k + i);
      await app.commit();
    }
    await db.compact();
    const sel = [new Matcher(MatchType.Equal, '__name__', 'bench_m'), new Matcher(MatchType.Equal, 'tenth', '3')];

    let t = performance.now();
    const before = readAll(db);
    const readPlain = performance.now() - t;

    t = performance.now();
    const r1 = await db.delete(T0, T0 + 2 * H - 1, sel);
    const blockMs = performance.now() - t;
    t = performance.now();
    const r2 = await db.delete(T0 + 2 * H, T0 + 4 * H, sel);
    const headMs = performance.now() - t;
    if (r1.blockIntervals !== N / 10 || r2.headIntervals !== N / 10) throw new Error(`unexpected intervals ${JSON.stringify([r1, r2])}`);

    t = performance.now();
    const after = readAll(db);
    const readTomb = performance.now() - t;
    if (after !== before - (N / 10) * 14 * 60) throw new Error(`read ${after} samples, expected ${before - (N / 10) * 14 * 60}`);

    t = performance.now();
    await db.cleanTombstones();
    const cleanS = (performance.now() - t) / 1000;
    await db.close();

    console.log(`FIGURE delete_block_ms: ${blockMs.toFixed(1)} ms (${N / 10} of ${N} series)`);
    console.log(`FIGURE delete_head_ms: ${headMs.toFixed(1)} ms (${N / 10} of ${N} series)`);
    console.log(`FIGURE query_overhead_with_tombstones: ${(readTomb / readPlain).toFixed(2)} x (${readPlain.toFixed(0)} ms → ${readTomb.toFixed(0)} ms for ${before} samples)`);
    console.log(`FIGURE clean_tombstones_s: ${cleanS.toFixed(2)} s (block of ${N} series × 480 samples)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
