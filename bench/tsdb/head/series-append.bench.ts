/**
 * CPU of the head's per-sample work alone: `MemSeries.append` (cut rule + XOR encoding
 * into the open chunk) for 50,000 series × 240 samples at 1 s, in-memory arena, no WAL,
 * no scrape. Values like Mattermost's: a third constant, a third counters, a third
 * random gauges. Best of 3 runs (the machine is shared).
 *
 *   node --import tsx bench/tsdb/head/series-append.bench.ts
 *
 *   FIGURE head_series_append_ns   CPU nanoseconds per appended sample
 *
 * Fixed seed.
 */
import { Labels } from '../../../src/storage/index.js';
import { ChunkArena } from '../../../src/tsdb/head/chunk-arena.js';
import { MemSeries } from '../../../src/tsdb/head/mem-series.js';

const SERIES = Number(process.env.MM_BENCH_SERIES ?? 50_000);
const SAMPLES = 240;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

let seed = 5;
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
}

// Value bits per (series, sample), precomputed so the timed loop only appends.
const his = new Int32Array(SERIES * SAMPLES);
const los = new Int32Array(SERIES * SAMPLES);
for (let i = 0; i < SERIES; i++) {
  const kind = i % 3;
  let v = Math.floor(rnd() * 1000);
  for (let k = 0; k < SAMPLES; k++) {
    if (kind === 1) v += Math.floor(rnd() * 20);
    else if (kind === 2) v = rnd() * 100;
    f64[0] = v;
    his[k * SERIES + i] = u32[HI] as number;
    los[k * SERIES + i] = u32[1 - HI] as number;
  }
}

let best = Infinity;
for (let run = 0; run < 3; run++) {
  const arena = new ChunkArena();
  const ss = Array.from({ length: SERIES }, (_, i) => new MemSeries(i + 1, Labels.EMPTY, i));
  const t0 = 1_700_000_000_000;
  const c0 = process.cpuUsage();
  for (let k = 0; k < SAMPLES; k++) {
    const t = t0 + k * 1000;
    for (let i = 0; i < SERIES; i++) (ss[i] as MemSeries).append(t, his[k * SERIES + i] as number, los[k * SERIES + i] as number, false, 7_200_000, arena);
  }
  const c = process.cpuUsage(c0);
  const ns = ((c.user + c.system) * 1000) / (SERIES * SAMPLES);
  if (ns < best) best = ns;
}
console.log(`FIGURE head_series_append_ns: ${best.toFixed(1)} ns`);
