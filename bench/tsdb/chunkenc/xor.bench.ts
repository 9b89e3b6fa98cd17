/**
 * XOR chunk encode/decode throughput on Mattermost-like series (fixed seed):
 * counters scraped every 60s with occasional jitter, gauges with two decimals,
 * histogram bucket counters, 120 samples per chunk as the head cuts them.
 *
 *   FIGURE xor_append: samples/s appended (one core)
 *   FIGURE xor_decode: samples/s decoded by XORIterator (next + atT + atV)
 *   FIGURE xor_bytes_per_sample: chunk bytes / samples
 */
import { ValueType } from '../../../src/storage/index.js';
import { XORChunk, XORIterator } from '../../../src/tsdb/chunkenc/index.js';
import { StreamingXORIterator } from './xor-iterator-streaming.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SERIES = 4000;
const PER_CHUNK = 120;
const r = rng(7);
const ts = new Float64Array(SERIES * PER_CHUNK);
const vs = new Float64Array(SERIES * PER_CHUNK);
for (let s = 0; s < SERIES; s++) {
  const kind = s % 4;
  let v = kind === 3 ? 100 * r() : Math.floor(r() * 1e5);
  let t = 1_700_000_000_000 + Math.floor(r() * 60) * 1000;
  for (let i = 0; i < PER_CHUNK; i++) {
    const j = r();
    t += 60000 + (j < 0.05 ? 1000 : j < 0.08 ? -1000 : 0);
    if (kind === 0) v += Math.floor(r() * 50); // counter
    else if (kind === 1) v += r() < 0.7 ? 0 : 1; // slow counter / bucket
    // kind 2: constant
    else if (kind === 3) v = Math.round((v + (r() - 0.5) * 3) * 100) / 100; // gauge
    ts[s * PER_CHUNK + i] = t;
    vs[s * PER_CHUNK + i] = v;
  }
}
const total = SERIES * PER_CHUNK;

function encodeAll(): XORChunk[] {
  const out: XORChunk[] = [];
  for (let s = 0; s < SERIES; s++) {
    const c = new XORChunk();
    const a = c.appender();
    const o = s * PER_CHUNK;
    for (let i = 0; i < PER_CHUNK; i++) a.append(ts[o + i]!, vs[o + i]!);
    out.push(c);
  }
  return out;
}

function bench(name: string, rounds: number, fn: () => number): number {
  fn(); // warm-up
  fn();
  let best = Infinity;
  let sink = 0;
  for (let k = 0; k < rounds; k++) {
    const t0 = process.hrtime.bigint();
    sink += fn();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (dt < best) best = dt;
  }
  if (sink === 42) console.log('');
  return best;
}

const chunks = encodeAll();
const tEnc = bench('append', 7, () => encodeAll().length);
let bytes = 0;
for (const c of chunks) bytes += c.bytes().length;
const datas = chunks.map((c) => c.bytes().slice());
const it = new XORIterator(datas[0]!);
const tDec = bench('decode', 9, () => {
  let acc = 0;
  for (let k = 0; k < datas.length; k++) {
    it.reset(datas[k]!);
    while (it.next() === ValueType.Float) acc += it.atT() + it.atV();
  }
  return acc;
});
const sit = new StreamingXORIterator(datas[0]!);
const tDecOld = bench('decode-streaming', 5, () => {
  let acc = 0;
  for (let k = 0; k < datas.length; k++) {
    sit.reset(datas[k]!);
    while (sit.next() === ValueType.Float) acc += sit.atT() + sit.atV();
  }
  return acc;
});
console.log(`xor decode, previous streaming iterator: ${(total / tDecOld / 1e6).toFixed(2)} Msamples/s`);
console.log(`FIGURE xor_append: ${(total / tEnc / 1e6).toFixed(2)} Msamples/s`);
console.log(`FIGURE xor_decode: ${(total / tDec / 1e6).toFixed(2)} Msamples/s`);
console.log(`FIGURE xor_bytes_per_sample: ${(bytes / total).toFixed(3)} bytes`);
