/**
 * WAL benchmarks: append throughput with group commit (samples records of 5,000
 * samples, as one scrape of a big target) and replay throughput (read + decode).
 * Fixed seed; records are generated before timing. Every log() is durable
 * (write + fdatasync), so append figures depend on the disk's fsync latency.
 *
 *   node --import tsx bench/tsdb/wal/wal.bench.ts
 */
import { mkdtemp, rm, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Encbuf } from '../../../src/tsdb/encoding/index.js';
import { WAL, openReader, nopWalLogger } from '../../../src/tsdb/wal/index.js';
import { SampleBatch, encodeSamples, decodeSamples, RecordType } from '../../../src/tsdb/record/index.js';

const SAMPLES_PER_RECORD = 5000;
const RECORDS = 400; // 2M samples
const WRITERS = 8; // concurrent "scrape loops"

let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;

/** Pre-generates samples records like scrapes: 5,000 series, one timestamp, random-walk values. */
function makeRecords(): Uint8Array[] {
  const vals = new Float64Array(SAMPLES_PER_RECORD).map(() => Math.floor(rand() * 1000));
  const b = new SampleBatch(SAMPLES_PER_RECORD);
  const e = new Encbuf(1 << 16);
  const out: Uint8Array[] = [];
  const t0 = 1_700_000_000_000;
  for (let k = 0; k < RECORDS; k++) {
    b.reset();
    for (let i = 0; i < SAMPLES_PER_RECORD; i++) {
      // Mix of counters (integers), gauges (fractions) and a few stale markers.
      if (i % 3 === 0) vals[i]! += Math.floor(rand() * 10);
      else if (i % 3 === 1) vals[i] = rand() * 100;
      if (i % 997 === 0 && k % 10 === 9) b.pushStale(i + 1, t0 + k * 15_000);
      else b.push(i + 1, t0 + k * 15_000, vals[i]!);
    }
    e.reset();
    encodeSamples(b, e);
    out.push(e.get().slice());
  }
  return out;
}

async function dirSize(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(join(dir, f))).size;
  return n;
}

async function append(recs: Uint8Array[], compress: boolean, writers: number): Promise<{ dir: string; secs: number; rawBytes: number; diskBytes: number; syncs: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'mm-walbench-'));
  const w = await WAL.open(dir, { compress, logger: nopWalLogger });
  let next = 0;
  const rawBytes = recs.reduce((a, r) => a + r.length, 0);
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < recs.length) {
        const r = recs[next++]!;
        await w.log(r);
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const syncs = w.stats.syncs;
  await w.close();
  return { dir, secs, rawBytes, diskBytes: await dirSize(dir), syncs };
}

function replay(dir: string): { secs: number; samples: number; rawBytes: number } {
  const b = new SampleBatch(SAMPLES_PER_RECORD);
  let samples = 0;
  let rawBytes = 0;
  const start = process.hrtime.bigint();
  const r = openReader([{ dir }]);
  while (r.next()) {
    const rec = r.record();
    rawBytes += rec.length;
    if (rec[0] === RecordType.Samples) {
      decodeSamples(rec, b);
      samples += b.length;
    }
  }
  if (r.err() !== null) throw r.err();
  r.close();
  return { secs: Number(process.hrtime.bigint() - start) / 1e9, samples, rawBytes };
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const recs = makeRecords();
const totalSamples = RECORDS * SAMPLES_PER_RECORD;
console.log(`records: ${RECORDS} × ${SAMPLES_PER_RECORD} samples, ${(recs.reduce((a, r) => a + r.length, 0) / 1e6).toFixed(1)} MB raw`);

for (const compress of [true, false]) {
  const tag = compress ? 'snappy' : 'plain';
  // Warm-up (JIT, directory metadata).
  const warm = await append(recs.slice(0, 80), compress, WRITERS);
  replay(warm.dir);
  replay(warm.dir);
  await rm(warm.dir, { recursive: true, force: true });

  // Median of 3 runs for each figure.
  const appends = [];
  for (let i = 0; i < 3; i++) appends.push(await append(recs, compress, WRITERS));
  const a = appends.sort((x, y) => x.secs - y.secs)[1]!;
  console.log(`append ${tag}, ${WRITERS} writers: ${a.secs.toFixed(2)} s, ${a.syncs} fdatasyncs for ${RECORDS} records, ${(a.diskBytes / 1e6).toFixed(1)} MB on disk`);
  console.log(`FIGURE wal_append_${tag}_group_commit_mb_per_s: ${fmt(a.rawBytes / 1e6 / a.secs)} MB/s`);
  console.log(`FIGURE wal_append_${tag}_group_commit_records_per_s: ${fmt(RECORDS / a.secs)} records/s`);
  console.log(`FIGURE wal_append_${tag}_group_commit_samples_per_s: ${fmt(totalSamples / a.secs)} samples/s`);
  console.log(`FIGURE wal_${tag}_disk_bytes_per_sample: ${(a.diskBytes / totalSamples).toFixed(2)} bytes`);

  const singles: number[] = [];
  for (let i = 0; i < 3; i++) {
    const s = await append(recs.slice(0, 100), compress, 1);
    singles.push(100 / s.secs);
    await rm(s.dir, { recursive: true, force: true });
  }
  console.log(`FIGURE wal_append_${tag}_single_writer_records_per_s: ${fmt(median(singles))} records/s`);

  const rs = [replay(a.dir), replay(a.dir), replay(a.dir)];
  for (const r of rs) if (r.samples !== totalSamples) throw new Error(`replayed ${r.samples} samples, want ${totalSamples}`);
  const r = rs.sort((x, y) => x.secs - y.secs)[1]!;
  console.log(`FIGURE wal_replay_${tag}_mb_per_s: ${fmt(r.rawBytes / 1e6 / r.secs)} MB/s`);
  console.log(`FIGURE wal_replay_${tag}_samples_per_s: ${fmt(r.samples / r.secs)} samples/s`);
  for (const x of appends) await rm(x.dir, { recursive: true, force: true });
}

// Record codec alone (no I/O): the head encodes one samples record per commit and decodes on replay.
{
  const b = new SampleBatch(SAMPLES_PER_RECORD);
  decodeSamples(recs[0]!, b);
  const e = new Encbuf(1 << 17);
  const times: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 200; i++) {
      e.reset();
      encodeSamples(b, e);
    }
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  console.log(`FIGURE record_encode_samples_per_s: ${fmt((200 * b.length) / median(times))} samples/s`);
  const d = new SampleBatch(SAMPLES_PER_RECORD);
  const dt: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 200; i++) decodeSamples(recs[i]!, d);
    dt.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  console.log(`FIGURE record_decode_samples_per_s: ${fmt((200 * SAMPLES_PER_RECORD) / median(dt))} samples/s`);
}
