import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { openLocalFileStore, type LocalFileStore } from '../../src/filestore/local.js';
import { manifestText, tarHeader, TarGzWriter } from '../../src/dump/archive.js';
import { ChunkSpillReader, ChunkSpillWriter, type SpilledChunk } from '../../src/dump/chunk-spill.js';

describe('TarGzWriter', () => {
  let dir: string;
  let store: LocalFileStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-targz-'));
    store = await openLocalFileStore({ root: join(dir, 'store'), fsync: false });
  });
  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('files of every size class, an empty dir and a long path come out of GNU tar byte for byte, with a manifest sha256sum accepts', async () => {
    const big = randomBytes(3 * (1 << 20) + 123); // several read buffers, not a multiple of 512
    const exact = randomBytes(1024);
    await writeFile(join(dir, 'big'), big);
    await writeFile(join(dir, 'empty'), '');
    const longDir = 'data/' + 'x'.repeat(90) + '/' + 'y'.repeat(40);
    const w = new TarGzWriter(store, 'out/a.tar.gz');
    await w.addDirectory('data');
    await w.addFile('data/big', join(dir, 'big'));
    await w.addFile('data/empty', join(dir, 'empty'));
    await w.addBytes('data/exact', exact);
    await w.addBytes(`${longDir}/file-with-a-long-path`, Buffer.from('long\n'));
    await w.addDirectory('data/wal');
    await w.addBytes('SHA256SUMS', Buffer.from(manifestText(w.sums)));
    const res = await w.finish();
    const bytes = await readFile(join(dir, 'store', 'out', 'a.tar.gz'));
    expect(res).toEqual({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    const out = join(dir, 'x');
    await mkdir(out);
    execFileSync('tar', ['xzf', join(dir, 'store', 'out', 'a.tar.gz'), '-C', out]);
    expect((await readFile(join(out, 'data', 'big'))).equals(big)).toBe(true);
    expect((await readFile(join(out, 'data', 'exact'))).equals(exact)).toBe(true);
    expect(await readFile(join(out, 'data', 'empty'), 'utf8')).toBe('');
    expect(await readFile(join(out, longDir, 'file-with-a-long-path'), 'utf8')).toBe('long\n');
    execFileSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: out });
    const listing = execFileSync('tar', ['tzvf', join(dir, 'store', 'out', 'a.tar.gz')], { encoding: 'utf8' });
    expect(listing).toMatch(/^drwxr-xr-x .* data\/wal\/$/m);
    expect(listing).toMatch(/^-rw-r--r-- .* data\/big$/m);
  });

  test('an abort while streaming leaves nothing at the key', async () => {
    const ac = new AbortController();
    const w = new TarGzWriter(store, 'out/aborted.tar.gz', { signal: ac.signal });
    await w.addBytes('a', randomBytes(1 << 20));
    ac.abort(new Error('stop'));
    await expect(w.addBytes('b', randomBytes(1 << 20)).then(() => w.finish())).rejects.toThrow();
    await w.abort(new Error('stop'));
    expect(await store.exists('out/aborted.tar.gz')).toBe(false);
    expect(await store.list('out')).not.toContain('out/aborted.tar.gz');
  });

  test.each([
    ['a name that fits the name field', 'a/b', true],
    ['a 180-byte path split at a slash into prefix and name', 'p'.repeat(120) + '/' + 'n'.repeat(59), true],
    ['a final component longer than 100 bytes', 'p/' + 'n'.repeat(101), false],
  ])('tar headers: %s', (_name, path, ok) => {
    if (!ok) {
      expect(() => tarHeader(path, 'file', 1, 0)).toThrow(/too long/);
      return;
    }
    const h = tarHeader(path, 'file', 1, 0);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    expect(parseInt(Buffer.from(h.subarray(148, 154)).toString(), 8)).toBe(sum);
  });

  test('sizes beyond the 11-digit octal field use the GNU base-256 form', () => {
    const size = 2 ** 34 + 5; // 16 GiB + 5
    const h = tarHeader('big', 'file', size, 0);
    expect(h[124]).toBe(0x80);
    let v = 0;
    for (let i = 125; i < 136; i++) v = v * 256 + h[i]!;
    expect(v).toBe(size);
  });
});

describe('chunk spill', () => {
  test('records of many runs read back in label order, with refs and times above 2^32 exact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mm-spill-'));
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(fc.tuple(fc.nat(50), fc.array(fc.tuple(fc.integer({ min: -5e12, max: 5e12 }), fc.nat(1e7), fc.nat(3000), fc.nat(2 ** 32 - 1)), { minLength: 1, maxLength: 300 })), { maxLength: 60 }), { maxLength: 12 }),
          async (runs) => {
            const path = join(dir, `s-${Math.random()}`);
            const w = await ChunkSpillWriter.create(path);
            // Per run: unique series numbers ascending, chunks in time order.
            const want: Array<Map<number, SpilledChunk[]>> = [];
            for (const run of runs) {
              const m = new Map<number, SpilledChunk[]>();
              w.beginRun();
              const seen = new Set<number>();
              for (const [s, cs] of [...run].sort((a, b) => a[0] - b[0])) {
                if (seen.has(s)) continue;
                seen.add(s);
                let t = 0;
                const chunks = cs.map(([mint, len, seg, off], i) => {
                  const minTime = i === 0 ? mint : t + (mint % 1000 >= 0 ? mint % 1000 : -(mint % 1000));
                  t = minTime + len;
                  return { ref: seg * 2 ** 32 + off, minTime, maxTime: minTime + len };
                });
                await w.add(s, chunks, chunks.length);
                m.set(s, chunks);
              }
              w.endRun();
              want.push(m);
            }
            await w.close();
            const r = new ChunkSpillReader(path, w.runs);
            const pool: SpilledChunk[] = [];
            want.forEach((m, ri) => {
              const c = r.cursors[ri]!;
              for (const [s, chunks] of m) {
                expect(c.next).toBe(s);
                const n = c.take(pool, 0);
                expect(pool.slice(0, n)).toEqual(chunks);
              }
              expect(c.next).toBe(-1);
            });
            r.close();
            await rm(path);
          },
        ),
        { numRuns: 40 },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
