import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels, Matcher, MatchType, ValueType } from '../../../src/storage/index.js';
import type { SeriesSet } from '../../../src/storage/index.js';
import { XORChunk } from '../../../src/tsdb/chunkenc/index.js';
import { newChunkMeta } from '../../../src/tsdb/chunks/index.js';
import { MemTombstones, writeTombstones } from '../../../src/tsdb/tombstones/index.js';
import { marshalMeta, openBlock, parseMeta, readMetaFile, writeBlock, clipChunks } from '../../../src/tsdb/block/index.js';
import type { BlockSeries } from '../../../src/tsdb/block/index.js';

const goldenDir = new URL('../../golden/blocks/small/block/', import.meta.url).pathname;
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mm-block-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function series(lset: Record<string, string>, ...chunks: Array<Array<[number, number | 'stale']>>): BlockSeries {
  return {
    labels: Labels.fromObject(lset),
    chunks: chunks.map((samples) => {
      const c = new XORChunk();
      const a = c.appender();
      for (const [t, v] of samples) {
        if (v === 'stale') a.appendStale(t);
        else a.append(t, v);
      }
      return newChunkMeta(c, samples[0]![0], samples[samples.length - 1]![0]);
    }),
  };
}

const goldenInput = (): BlockSeries[] => [
  series({ __name__: 'up', job: 'a' }, [[1000000, 1], [1015000, 1]]),
  series({ __name__: 'http_requests_total', code: '500', method: 'get' }, [[1000000, 1], [1015000, 1]]),
  series({ __name__: 'http_requests_total', code: '200', method: 'get' }, [[1000000, 1], [1015000, 2], [1030000, 4]]),
];

async function drain(ss: SeriesSet): Promise<string[]> {
  const out: string[] = [];
  while (ss.next()) {
    const s = ss.at();
    const it = s.iterator();
    while (it.next() === ValueType.Float) out.push(`${s.labels().toString()} ${it.atStale() ? 'stale' : it.atV()} ${it.atT()}`);
    if (it.err()) throw it.err();
  }
  if (ss.err()) throw ss.err();
  return out;
}

describe('block writer reproduces the promtool golden block', () => {
  test('index, chunks and tombstones are byte-identical; meta.json equal with the ULID substituted', async () => {
    const gm = readMetaFile(goldenDir).meta;
    const meta = await writeBlock(tmp, { mint: 1000000, maxt: 1030001, series: goldenInput() });
    expect(meta).not.toBeNull();
    const dir = join(tmp, meta!.ulid);
    for (const f of ['index', 'chunks/000001', 'tombstones']) {
      expect((await readFile(join(dir, f))).toString('hex'), f).toBe((await readFile(join(goldenDir, f))).toString('hex'));
    }
    const ours = (await readFile(join(dir, 'meta.json'), 'utf8')).split(meta!.ulid).join(gm.ulid);
    expect(ours).toBe(await readFile(join(goldenDir, 'meta.json'), 'utf8'));
    expect((await readdir(tmp)).some((n) => n.includes('tmp-for-creation'))).toBe(false);
  });

  test('marshalMeta reproduces Go MarshalIndent, omitempty included', async () => {
    const golden = await readFile(join(goldenDir, 'meta.json'), 'utf8');
    expect(marshalMeta(parseMeta(golden))).toBe(golden);
    const m = parseMeta(golden);
    m.stats = {};
    m.compaction = { level: 2, sources: ['01A', '01B'], deletable: true, parents: [{ ulid: '01A', minTime: 1, maxTime: 2 }], failed: true, hints: ['a<b&c'] };
    expect(marshalMeta(m)).toBe(
      [
        '{',
        `\t"ulid": "${m.ulid}",`,
        '\t"minTime": 1000000,',
        '\t"maxTime": 1030001,',
        '\t"stats": {},',
        '\t"compaction": {',
        '\t\t"level": 2,',
        '\t\t"sources": [\n\t\t\t"01A",\n\t\t\t"01B"\n\t\t],',
        '\t\t"deletable": true,',
        '\t\t"parents": [\n\t\t\t{\n\t\t\t\t"ulid": "01A",\n\t\t\t\t"minTime": 1,\n\t\t\t\t"maxTime": 2\n\t\t\t}\n\t\t],',
        '\t\t"failed": true,',
        '\t\t"hints": [\n\t\t\t"a\\u003cb\\u0026c"\n\t\t]',
        '\t},',
        '\t"version": 1',
        '}',
      ].join('\n'),
    );
  });

  test.each([
    ['a version other than 1', '{"ulid":"01M80S8XRDHSM6Q7VP9SBHQCZA","minTime":0,"maxTime":1,"version":2}', /unexpected meta file version 2/],
    ['a bad ulid', '{"ulid":"x","minTime":0,"maxTime":1,"version":1}', /invalid ulid/],
    ['broken JSON', '{', /parse meta.json/],
  ])('meta.json with %s is refused', (_n, text, re) => {
    expect(() => parseMeta(text)).toThrow(re);
  });
});

describe('block reader and querier', () => {
  let dir: string;
  beforeAll(async () => {
    const meta = await writeBlock(tmp, {
      mint: 0,
      maxt: 100001,
      series: [
        series({ __name__: 'a', job: 'x', env: 'prod' }, [[0, 1], [10000, 2]], [[20000, 3], [30000, 'stale']]),
        series({ __name__: 'a', job: 'y' }, [[5000, 1], [15000, NaN]]),
        series({ __name__: 'b', job: 'x', inst: '' }, [[50000, Infinity], [100000, -Infinity]]),
      ],
    });
    dir = join(tmp, meta!.ulid);
  });

  const q = async (mint: number, maxt: number, ...ms: Matcher[]) => {
    const b = await openBlock(dir);
    const qr = b.querier(mint, maxt);
    const out = await drain(qr.select(true, null, ...ms));
    qr.close();
    await b.close();
    return out;
  };
  const eq = (n: string, v: string) => new Matcher(MatchType.Equal, n, v);

  test('stats count samples, chunks and series', async () => {
    const b = await openBlock(dir);
    expect(b.meta.stats).toEqual({ numSamples: 8, numSeries: 3, numChunks: 4 });
    expect(b.size()).toBeGreaterThan(0);
    await b.close();
  });

  test.each<[string, Matcher[], number]>([
    ['name equality selects both series of a', [eq('__name__', 'a')], 6],
    ['job="x" crosses names', [eq('job', 'x')], 6],
    ['env="" selects series without env', [eq('env', '')], 4],
    ['env!="prod" selects series without env too', [new Matcher(MatchType.NotEqual, 'env', 'prod')], 4],
    ['a regex alternation', [new Matcher(MatchType.Regexp, '__name__', 'a|b')], 8],
    ['a general regex', [new Matcher(MatchType.Regexp, 'job', '.')], 8],
    ['negative regex', [new Matcher(MatchType.NotRegexp, 'job', 'x')], 2],
    ['label must be set', [new Matcher(MatchType.NotEqual, 'env', '')], 4],
    ['everything', [new Matcher(MatchType.Regexp, '', '.*')], 8],
    ['nothing matches', [eq('job', 'zzz')], 0],
  ])('%s', async (_n, ms, want) => {
    expect((await q(-Infinity, Infinity, ...ms)).length).toBe(want);
  });

  test('samples outside [mint, maxt] are dropped; stale markers and special values survive', async () => {
    expect(await q(10000, 30000, eq('job', 'x'), eq('__name__', 'a'))).toEqual([
      '{__name__="a", env="prod", job="x"} 2 10000',
      '{__name__="a", env="prod", job="x"} 3 20000',
      '{__name__="a", env="prod", job="x"} stale 30000',
    ]);
    expect(await q(0, 200000, eq('__name__', 'b'))).toEqual(['{__name__="b", job="x"} Infinity 50000', '{__name__="b", job="x"} -Infinity 100000']);
  });

  test('tombstones remove samples and fully deleted chunks', async () => {
    const t = new MemTombstones();
    const b0 = await openBlock(dir);
    const ids = [...b0.index().postings('job', 'x')];
    await b0.close();
    t.addInterval(ids[0]!, { mint: 0, maxt: 10000 }, { mint: 30000, maxt: 30000 });
    await writeTombstones(dir, t);
    expect(await q(-Infinity, Infinity, eq('env', 'prod'))).toEqual(['{__name__="a", env="prod", job="x"} 3 20000']);
    await writeTombstones(dir, new MemTombstones());
  });

  test('label names and values, with and without matchers', async () => {
    const b = await openBlock(dir);
    const qr = b.querier(-Infinity, Infinity);
    expect(qr.labelNames()).toEqual(['__name__', 'env', 'job']);
    expect(qr.labelValues('job')).toEqual(['x', 'y']);
    expect(qr.labelValues('job', eq('__name__', 'b'))).toEqual(['x']);
    expect(qr.labelNames(eq('__name__', 'b'))).toEqual(['__name__', 'job']);
    qr.close();
    await b.close();
  });

  test('seek lands on the first sample at or after t across chunks', async () => {
    const b = await openBlock(dir);
    const ss = b.querier(-Infinity, Infinity).select(true, null, eq('env', 'prod'));
    expect(ss.next()).toBe(true);
    const it = ss.at().iterator();
    expect(it.seek(15000)).toBe(ValueType.Float);
    expect(it.atT()).toBe(20000);
    expect(it.seek(5000)).toBe(ValueType.Float);
    expect(it.atT()).toBe(20000);
    expect(it.seek(30001)).toBe(ValueType.None);
    await b.close();
  });
});

describe('writer edge cases', () => {
  test('chunks crossing the block range are re-encoded with only the samples inside', () => {
    const s = series({ a: 'b' }, [[0, 1], [10, 2], [20, 3], [30, 4]]);
    const out = clipChunks(s.chunks, 10, 20);
    expect(out.length).toBe(1);
    expect([out[0]!.minTime, out[0]!.maxTime, out[0]!.chunk!.numSamples()]).toEqual([10, 20, 2]);
  });
  test('a block without samples in range is not written', async () => {
    const d = join(tmp, 'empty');
    await mkdir(d);
    expect(await writeBlock(d, { mint: 0, maxt: 10, series: [series({ a: 'b' }, [[100, 1]])] })).toBeNull();
    expect(await readdir(d)).toEqual([]);
  });
  test('duplicate series are refused', async () => {
    await expect(writeBlock(tmp, { mint: 0, maxt: 10, series: [series({ a: 'b' }, [[1, 1]]), series({ a: 'b' }, [[2, 1]])] })).rejects.toThrow(/duplicate series/);
  });
});

describe('opening broken blocks gives clear errors', () => {
  async function copyOf(): Promise<string> {
    const d = await mkdtemp(join(tmp, 'copy-'));
    await mkdir(join(d, 'chunks'));
    for (const f of ['index', 'meta.json', 'tombstones', 'chunks/000001']) await writeFile(join(d, f), await readFile(join(goldenDir, f)));
    return d;
  }
  test('a missing chunks directory', async () => {
    const d = await copyOf();
    await rm(join(d, 'chunks'), { recursive: true });
    await expect(openBlock(d)).rejects.toThrow(/open block .*: .*chunks: open chunk dir/);
  });
  test('a missing chunk file is reported when a chunk is read', async () => {
    const d = await copyOf();
    await rm(join(d, 'chunks/000001'));
    const b = await openBlock(d);
    const ss = b.querier(-Infinity, Infinity).select(false, null, new Matcher(MatchType.Regexp, '', '.*'));
    expect(ss.next()).toBe(true);
    const it = ss.at().iterator();
    expect(it.next()).toBe(ValueType.None);
    expect(it.err()?.message).toMatch(/segment index 0 out of range \(0 segment files\)/);
    await b.close();
  });
  test('a truncated index', async () => {
    const d = await copyOf();
    const b = await readFile(join(d, 'index'));
    await writeFile(join(d, 'index'), b.subarray(0, b.length - 10));
    await expect(openBlock(d)).rejects.toThrow(/index at offset \d+: read TOC: checksum mismatch/);
  });
  test('a missing meta.json', async () => {
    const d = await copyOf();
    await rm(join(d, 'meta.json'));
    await expect(openBlock(d)).rejects.toThrow(/meta.json: read meta.json/);
  });
});

describe('fuzzing whole blocks: mutated files give typed errors, never a crash or a hang', () => {
  test('random byte changes in any file of the golden block', async () => {
    const fc = (await import('fast-check')).default;
    const files = ['index', 'chunks/000001', 'tombstones', 'meta.json'];
    const good = await Promise.all(files.map((f) => readFile(join(goldenDir, f))));
    const d = await mkdtemp(join(tmp, 'fuzz-'));
    await mkdir(join(d, 'chunks'));
    const { writeFileSync } = await import('node:fs');
    await fc.assert(
      fc.asyncProperty(
        fc.nat(files.length - 1),
        fc.array(fc.tuple(fc.nat(4095), fc.nat(255)), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (fi, muts, truncate) => {
          for (let i = 0; i < files.length; i++) writeFileSync(join(d, files[i]!), good[i]!);
          const b = Buffer.from(good[fi]!);
          for (const [pos, v] of muts) b[pos % b.length] = v;
          writeFileSync(join(d, files[fi]!), truncate ? b.subarray(0, muts[0]![0] % b.length) : b);
          let block;
          try {
            block = await openBlock(d);
          } catch (e) {
            expect((e as { code?: string }).code).toBe('MM_ERR_BLOCK_OPEN');
            return;
          }
          try {
            const ss = block.querier(-Infinity, Infinity).select(false, null, new Matcher(MatchType.Regexp, '', '.*'));
            while (ss.next()) {
              const it = ss.at().iterator();
              let n = 0;
              while (it.next() === ValueType.Float) n++;
              expect(n).toBeLessThanOrEqual(65535);
              const e = it.err();
              if (e) expect((e as { code?: string }).code).toMatch(/^MM_ERR_/);
            }
            const e = ss.err();
            if (e) expect((e as { code?: string }).code).toMatch(/^MM_ERR_/);
          } finally {
            await block.close();
          }
        },
      ),
      { numRuns: process.env.MM_SOAK === '1' ? 5000 : 400 },
    );
  }, 900_000);
});
