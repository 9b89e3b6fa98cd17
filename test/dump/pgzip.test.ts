import { describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ParallelGzip, PGZIP_BLOCK } from '../../src/dump/pgzip.js';

/** Compressible, deterministic bytes: repeated phrases with a drifting counter. */
function sample(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = (x >>> 28) < 12 ? 97 + ((i >> 6) % 20) : x >>> 24;
  }
  return b;
}

async function pgzip(input: Buffer, parallel: number, pieces: number): Promise<Buffer> {
  const out: Buffer[] = [];
  const gz = new ParallelGzip(async (b) => void out.push(Buffer.from(b)), { level: 6, parallel });
  const step = Math.max(1, Math.ceil(input.length / pieces));
  for (let off = 0; off < input.length; off += step) await gz.write(input.subarray(off, off + step));
  expect(await gz.end()).toBe(input.length);
  return Buffer.concat(out);
}

describe('ParallelGzip', () => {
  test.each([
    ['no input at all', 0, 2, 1],
    ['one byte', 1, 2, 1],
    ['exactly one block', PGZIP_BLOCK, 2, 3],
    ['one block and one byte', PGZIP_BLOCK + 1, 2, 5],
    ['three and a half blocks written in odd pieces, one job at a time', 3.5 * PGZIP_BLOCK, 1, 7],
    ['three and a half blocks written in odd pieces, three jobs at a time', 3.5 * PGZIP_BLOCK, 3, 13],
  ])('%s: a single gzip member that zlib and GNU gzip decode to the input', async (_name, size, parallel, pieces) => {
    const input = sample(size, size + parallel);
    const gz = await pgzip(input, parallel, pieces);
    expect(gunzipSync(gz).equals(input)).toBe(true);
    expect(execFileSync('gzip', ['-dc'], { input: gz, maxBuffer: 64 << 20 }).equals(input)).toBe(true);
    // One member: the trailer is at the very end and `gzip -l` sees the full size.
    expect(gz.readUInt32LE(gz.length - 4)).toBe(size);
  });

  test('compresses within 1 % of a single zlib stream (each block is primed with the previous 32 KiB)', async () => {
    const input = sample(6 * PGZIP_BLOCK, 7);
    const ours = await pgzip(input, 2, 50);
    const single = gzipSync(input, { level: 6 });
    expect(ours.length / single.length).toBeLessThan(1.01);
  });

  test('a failing sink stops compression with the sink\'s error', async () => {
    let n = 0;
    const gz = new ParallelGzip(async () => {
      if (++n > 2) throw new Error('store went away');
    }, { level: 6, parallel: 2 });
    const input = sample(8 * PGZIP_BLOCK, 3);
    await expect((async () => {
      await gz.write(input);
      await gz.end();
    })()).rejects.toThrow(/store went away/);
  });
});
