import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { MemTombstones, addInterval, decodeTombstones, encodeTombstones, readTombstones, writeTombstones, isSubrange } from '../../../src/tsdb/tombstones/index.js';

const golden = new URL('../../golden/blocks/small/block/tombstones', import.meta.url).pathname;
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mm-tomb-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('tombstones file (code behaviour of 2.42, spec §7)', () => {
  test('the empty file equals the one promtool writes for every block', async () => {
    expect(Buffer.from(encodeTombstones(new MemTombstones())).toString('hex')).toBe((await readFile(golden)).toString('hex'));
    expect(Buffer.from(encodeTombstones(new MemTombstones())).toString('hex')).toBe('0130ba300100000000');
  });

  test('entries are uvarint ref, varint mint, varint maxt and the CRC covers only them', () => {
    const t = new MemTombstones();
    t.addInterval(5, { mint: -1, maxt: 1 });
    const b = Buffer.from(encodeTombstones(t));
    // 01 30 ba 30 | 01 | 05 01 02 | crc32c(05 01 02)
    expect(b.subarray(0, 8).toString('hex')).toBe('0130ba3001050102');
    expect(b.length).toBe(12);
  });

  test('write then read returns the same intervals, refs ascending', async () => {
    const t = new MemTombstones();
    t.addInterval(32, { mint: 100, maxt: 200 });
    t.addInterval(7, { mint: 0, maxt: 10 }, { mint: 50, maxt: 60 });
    await writeTombstones(tmp, t);
    const { tombstones, size } = readTombstones(tmp);
    expect(size).toBe((await readFile(join(tmp, 'tombstones'))).length);
    expect(tombstones.refs()).toEqual([7, 32]);
    expect(tombstones.get(7)).toEqual([
      { mint: 0, maxt: 10 },
      { mint: 50, maxt: 60 },
    ]);
    expect(tombstones.total()).toBe(3);
  });

  test('unbounded intervals near ±2^63 survive as huge values', () => {
    const t = new MemTombstones();
    t.addInterval(1, { mint: -(2 ** 63), maxt: 2 ** 63 });
    const back = decodeTombstones(encodeTombstones(t));
    const iv = back.get(1)[0]!;
    expect(iv.mint).toBeLessThan(-9e18);
    expect(iv.maxt).toBeGreaterThan(9e18);
  });

  test('an absent file is empty tombstones', () => {
    const r = readTombstones(join(tmp, 'nothing-here'));
    expect(r.tombstones.total()).toBe(0);
    expect(r.size).toBe(0);
  });

  test.each([
    ['a bad checksum', '0130ba30010501020000000', /checksum mismatch/],
    ['a bad magic', '0130ba3101' + '00000000', /invalid magic number/],
    ['a short file', '0130ba', /tombstones header/],
  ])('%s is a typed error', async (_n, hex, re) => {
    const p = join(tmp, 'bad');
    await writeFile(p, Buffer.from(hex.length % 2 ? hex + '0' : hex, 'hex'));
    expect(() => decodeTombstones(new Uint8Array(Buffer.from(hex.length % 2 ? hex + '0' : hex, 'hex')))).toThrow(re);
  });

  test('random bytes and mutations never throw anything but TombstonesError', () => {
    const t = new MemTombstones();
    for (let i = 0; i < 20; i++) t.addInterval(i * 3, { mint: i * 100, maxt: i * 100 + 50 });
    const good = encodeTombstones(t);
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.tuple(fc.nat(good.length - 1), fc.nat(255)).map(([i, v]) => { const b = good.slice(); b[i] = v; return b; })), (b) => {
        try {
          decodeTombstones(b);
        } catch (e) {
          expect((e as Error).name).toBe('TombstonesError');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('interval arithmetic (Go Intervals.Add)', () => {
  test.each([
    [[[1, 5]], [6, 10], [[1, 10]]],
    [[[1, 5]], [7, 10], [[1, 5], [7, 10]]],
    [[[1, 5], [10, 20]], [4, 11], [[1, 20]]],
    [[[10, 20]], [1, 2], [[1, 2], [10, 20]]],
    [[[1, 2], [10, 20]], [30, 40], [[1, 2], [10, 20], [30, 40]]],
  ])('%j plus %j is %j', (ivs, n, want) => {
    const r = addInterval(ivs.map(([a, b]) => ({ mint: a!, maxt: b! })), { mint: n[0]!, maxt: n[1]! });
    expect(r.map((i) => [i.mint, i.maxt])).toEqual(want);
  });
  test('isSubrange checks containment in one interval', () => {
    expect(isSubrange(2, 3, [{ mint: 1, maxt: 5 }])).toBe(true);
    expect(isSubrange(2, 6, [{ mint: 1, maxt: 5 }, { mint: 6, maxt: 9 }])).toBe(false);
  });
});
