/**
 * Test helpers for the file store suites: deterministic large streams, reading streams back,
 * and a live-memory sampler (forced GC between samples, so it measures what is retained,
 * not garbage waiting for collection).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';

export const CHUNK = 64 * 1024;

/** Fills `buf` with the deterministic bytes of chunk number `idx` (xorshift32 seeded by idx). */
export function fillChunk(buf: Buffer, idx: number): void {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
  let x = (idx * 2654435761 + 0x9e3779b9) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
}

/**
 * A stream of `size` deterministic bytes in CHUNK-sized pieces (size must be a multiple of 4).
 * `onProgress(offset)` is called before each chunk is produced.
 */
export function patternStream(size: number, onProgress?: (offset: number) => void): Readable {
  let off = 0;
  let idx = 0;
  return new Readable({
    read() {
      if (off >= size) {
        this.push(null);
        return;
      }
      onProgress?.(off);
      const n = Math.min(CHUNK, size - off);
      const b = Buffer.allocUnsafe(CHUNK);
      fillChunk(b, idx++);
      off += n;
      this.push(n === CHUNK ? b : b.subarray(0, n));
    },
  });
}

/** The bytes [start, end] (inclusive) of patternStream(size), regenerated. */
export function patternSlice(start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start + 1);
  const tmp = Buffer.allocUnsafe(CHUNK);
  for (let idx = Math.floor(start / CHUNK); idx * CHUNK <= end; idx++) {
    fillChunk(tmp, idx);
    const c0 = idx * CHUNK;
    const from = Math.max(start, c0);
    const to = Math.min(end, c0 + CHUNK - 1);
    tmp.copy(out, from - start, from - c0, to - c0 + 1);
  }
  return out;
}

/** sha256 and length of a stream; `onProgress(offset)` is called before each chunk is hashed. */
export async function sha256OfStream(r: Readable, onProgress?: (offset: number) => void): Promise<{ hash: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of r) {
    onProgress?.(size);
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { hash: h.digest('hex'), size };
}

export async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

// V8 frees dead ArrayBuffer backing stores from a concurrent sweeper, so right after gc() the
// figure would still count buffers that are already garbage. Sweeping synchronously makes one
// forced GC give the retained size. (Process-wide, but each test file runs in its own fork.)
v8.setFlagsFromString('--no-concurrent-array-buffer-sweeping');
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Retained bytes: heap + ArrayBuffers after a full GC. */
function live(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Retained-memory probe: sample() records the growth over the baseline taken at creation.
 * Streams call it at fixed byte offsets (see patternStream/sha256OfStream `onProgress`), so
 * the number of samples does not depend on timing: an implementation that buffered the
 * object would show growth proportional to the bytes already consumed.
 */
export function memoryProbe(): { sample(): void; readonly peak: number; readonly samples: number } {
  const base = live();
  let peak = 0;
  let samples = 0;
  return {
    sample() {
      samples++;
      peak = Math.max(peak, live() - base);
    },
    get peak() {
      return peak;
    },
    get samples() {
      return samples;
    },
  };
}
