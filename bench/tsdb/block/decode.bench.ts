/**
 * Samples decoded per CPU-second from persisted blocks, through the real read path:
 * block open (meta, index TOC/symbols/postings table, chunk segment headers) → postings
 * for `{__name__=~".+"}` → series entries → chunk reader (window cache, CRC) → XOR
 * iterator, every sample's timestamp and value consumed.
 *
 * Input: Mattermost-like series (test/tsdb/block/mm-gen.ts, fixed seed: api_time and
 * db_store_time histograms, cache/websocket/cluster counters, per-hub and process
 * gauges, churn, scrape jitter, counter resets, special values) written by our
 * `create-blocks-from openmetrics` (byte-identical to promtool's), two shapes:
 *   - 15s scrapes over 2h10m (4 instances: ~3.6k series, ~1.7M samples, 2 blocks)
 *   - 60s scrapes over 6h10m with 6h blocks (4 instances, ~1.3M samples)
 *
 * Time is process CPU time (`process.cpuUsage()`, user + system, this process only):
 * the machine is shared, so wall time mostly measures the neighbours. Each round opens
 * the blocks, reads everything, closes them. Median and best of the rounds are printed.
 *
 *   FIGURE block_decode_cpu_15s: M samples per CPU-second (median of rounds), 15s shape
 *   FIGURE block_decode_cpu_60s: same, 60s shape
 *   FIGURE block_decode_xor_only_cpu: the same chunks decoded by XORIterator alone (no
 *                                     index, no chunk reader), for the breakdown
 *
 * MM_BENCH_ROUNDS (default 9) sets the rounds.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matcher, MatchType, ValueType } from '../../../src/storage/index.js';
import type { SampleIterator } from '../../../src/storage/index.js';
import { XORIterator } from '../../../src/tsdb/chunkenc/index.js';
import { openBlockSync } from '../../../src/tsdb/block/index.js';
import { backfillOpenMetrics } from '../../../src/cli/tsdb-backfill.js';
import { defaultGenOptions, generateOpenMetrics } from '../../../test/tsdb/block/mm-gen.js';

const ROUNDS = Number(process.env.MM_BENCH_ROUNDS ?? 9);
const tmp = mkdtempSync(join(tmpdir(), 'mm-decode-bench-'));
const blockDirs = (d: string) => readdirSync(d).filter((x) => /^[0-7][0-9A-Z]{25}$/.test(x)).map((x) => join(d, x));

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

async function makeBlocks(name: string, intervalSec: number, durationSec: number, maxBlockDuration: number): Promise<string[]> {
  const g = generateOpenMetrics({ ...defaultGenOptions(), instances: 4, handlers: 24, intervalSec, durationSec });
  const input = join(tmp, `${name}.om`);
  writeFileSync(input, g.text);
  const out = join(tmp, name);
  await backfillOpenMetrics(input, out, { quiet: true, maxBlockDuration });
  rmSync(input);
  console.log(`${name}: ${g.series} series, ${g.samples} samples, ${intervalSec}s scrapes over ${(durationSec / 3600).toFixed(2)} h`);
  return blockDirs(out);
}

const all = new Matcher(MatchType.Regexp, '__name__', '.+');

/** One round over the read path; returns [samples, checksum]. */
function readAll(dirs: string[]): [number, number] {
  let n = 0;
  let acc = 0;
  let it: SampleIterator | null = null;
  for (const d of dirs) {
    const b = openBlockSync(d);
    const q = b.querier(-Infinity, Infinity);
    const ss = q.select(false, null, all);
    while (ss.next()) {
      it = ss.at().iterator(it);
      while (it.next() === ValueType.Float) {
        acc += it.atT() + it.atV();
        n++;
      }
      if (it.err() !== null) throw it.err();
    }
    if (ss.err() !== null) throw ss.err();
    q.close();
    void b.close();
  }
  return [n, acc];
}

function measure(name: string, dirs: string[]): number {
  const rates: number[] = [];
  let samples = 0;
  let sink = 0;
  readAll(dirs); // warm-up (JIT, page cache)
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = cpuSeconds();
    const [n, acc] = readAll(dirs);
    const dc = cpuSeconds() - c0;
    samples = n;
    sink += acc;
    rates.push(n / dc / 1e6);
  }
  if (sink === 42) console.log('');
  console.log(`${name}: ${samples} samples per round; M samples/CPU-s per round: ${rates.map((x) => x.toFixed(1)).join(' ')}; best ${Math.max(...rates).toFixed(2)}`);
  return median(rates);
}

/** XOR decode alone over the same chunks (copied out first), for the breakdown. */
function measureXorOnly(dirs: string[]): number {
  const chunks: Uint8Array[] = [];
  for (const d of dirs) {
    const b = openBlockSync(d);
    const ir = b.index();
    for (const id of ir.allPostings()) {
      for (const m of ir.series(id).chunks) chunks.push(b.chunks().chunkData(m.ref).slice());
    }
    void b.close();
  }
  const it = new XORIterator(new Uint8Array(0));
  const rates: number[] = [];
  let sink = 0;
  for (let r = 0; r <= ROUNDS; r++) {
    const c0 = cpuSeconds();
    let n = 0;
    for (const c of chunks) {
      it.reset(c);
      while (it.next() === ValueType.Float) {
        sink += it.atT() + it.atV();
        n++;
      }
    }
    const dc = cpuSeconds() - c0;
    if (r > 0) rates.push(n / dc / 1e6);
  }
  if (sink === 42) console.log('');
  console.log(`xor only: M samples/CPU-s per round: ${rates.map((x) => x.toFixed(1)).join(' ')}`);
  return median(rates);
}

try {
  const d15 = await makeBlocks('s15', 15, 2 * 3600 + 600, 0);
  const d60 = await makeBlocks('s60', 60, 6 * 3600 + 600, 6 * 3600_000);
  const r15 = measure('15s', d15);
  const r60 = measure('60s', d60);
  const rx = measureXorOnly(d15);
  console.log(`FIGURE block_decode_cpu_15s: ${r15.toFixed(2)} Msamples/cpu-s`);
  console.log(`FIGURE block_decode_cpu_60s: ${r60.toFixed(2)} Msamples/cpu-s`);
  console.log(`FIGURE block_decode_xor_only_cpu: ${rx.toFixed(2)} Msamples/cpu-s`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
