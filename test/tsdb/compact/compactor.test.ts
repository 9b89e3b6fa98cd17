import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtemp, mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Labels, Matcher, MatchType, ValueType } from '../../../src/storage/index.js';
import { XORChunk } from '../../../src/tsdb/chunkenc/index.js';
import type { ChunkMeta } from '../../../src/tsdb/chunks/index.js';
import { openBlock, writeBlock, type Block } from '../../../src/tsdb/block/index.js';
import { compactSources } from '../../../src/tsdb/compact/compactor.js';
import { blockSource } from '../../../src/tsdb/compact/sources.js';

/** Chunks of ≤120 samples for timestamps `ts` with value f(t). */
function chunksFor(ts: number[], f: (t: number) => number): ChunkMeta[] {
  const out: ChunkMeta[] = [];
  for (let i = 0; i < ts.length; i += 120) {
    const c = new XORChunk();
    const a = c.appender();
    const part = ts.slice(i, i + 120);
    for (const t of part) a.append(t, f(t));
    out.push({ ref: 0, minTime: part[0]!, maxTime: part[part.length - 1]!, chunk: c });
  }
  return out;
}
const range = (from: number, to: number, step: number) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

function samples(b: Block, mint = -Infinity, maxt = Infinity): Map<string, Array<[number, number]>> {
  const q = b.querier(mint === -Infinity ? -1e15 : mint, maxt === Infinity ? 1e15 : maxt);
  const ss = q.select(true, null, new Matcher(MatchType.Regexp, '__name__', '.+'));
  const out = new Map<string, Array<[number, number]>>();
  while (ss.next()) {
    const s = ss.at();
    const it = s.iterator();
    const arr: Array<[number, number]> = [];
    while (it.next() === ValueType.Float) arr.push([it.atT(), it.atV()]);
    out.set(s.labels().toString(), arr);
  }
  q.close();
  return out;
}

const hasPromtool = (() => {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('compactSources', () => {
  let dir: string;
  const blocks: Block[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-compact-'));
    await mkdir(join(dir, 'in'));
    // Block A: [0, 2h) for series a and b; block B overlaps A's second hour and extends to 3h, series b and c.
    const H = 3_600_000;
    const mA = await writeBlock(join(dir, 'in'), {
      mint: 0,
      maxt: 2 * H,
      series: [
        { labels: Labels.fromPairs('__name__', 'm', 'i', 'a'), chunks: chunksFor(range(0, 2 * H - 15_000, 15_000), (t) => t / 1000) },
        { labels: Labels.fromPairs('__name__', 'm', 'i', 'b'), chunks: chunksFor(range(0, 2 * H - 15_000, 15_000), (t) => -t) },
      ],
    });
    const mB = await writeBlock(join(dir, 'in'), {
      mint: H,
      maxt: 3 * H,
      series: [
        { labels: Labels.fromPairs('__name__', 'm', 'i', 'b'), chunks: chunksFor(range(H + 5000, 3 * H - 10_000, 15_000), (t) => -t) },
        { labels: Labels.fromPairs('__name__', 'other', 'i', 'c'), chunks: chunksFor(range(H, 3 * H - 1, 60_000), () => 7) },
      ],
    });
    blocks.push(await openBlock(join(dir, 'in', mA!.ulid)), await openBlock(join(dir, 'in', mB!.ulid)));
  });
  afterAll(async () => {
    for (const b of blocks) await b.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('vertical compaction of overlapping blocks keeps every sample once, with parents and level recorded', async () => {
    const out = join(dir, 'out1');
    await mkdir(out);
    const res = await compactSources(blocks.map(blockSource), out, { mint: 0, maxt: 3 * 3_600_000 });
    expect(res).not.toBeNull();
    const merged = await openBlock(res!.dir);
    const got = samples(merged);
    const want = new Map<string, Array<[number, number]>>();
    for (const b of blocks) {
      for (const [k, arr] of samples(b)) {
        const m = new Map((want.get(k) ?? []).map(([t, v]) => [t, v] as [number, number]));
        for (const [t, v] of arr) if (!m.has(t)) m.set(t, v);
        want.set(k, [...m.entries()].sort((x, y) => x[0] - y[0]));
      }
    }
    expect(got).toEqual(want);
    expect(res!.meta.compaction.level).toBe(2);
    expect(res!.meta.compaction.parents?.map((p) => p.ulid).sort()).toEqual(blocks.map((b) => b.meta.ulid).sort());
    expect(res!.meta.stats?.numSeries).toBe(3);
    expect(res!.passedChunks).toBeGreaterThan(0);
    await merged.close();
    expect((await readdir(out)).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  test('a range cut with a selector keeps only matching series and only samples inside [mint, maxt)', async () => {
    const out = join(dir, 'out2');
    await mkdir(out);
    const mint = 1_800_000;
    const maxt = 5_400_000;
    const res = await compactSources(blocks.map(blockSource), out, {
      mint,
      maxt,
      selectors: [[Matcher.equal('__name__', 'm')]],
      metaRange: 'data',
      recordParents: false,
    });
    const b = await openBlock(res!.dir);
    const got = samples(b);
    expect([...got.keys()]).toEqual(['{__name__="m", i="a"}', '{__name__="m", i="b"}']);
    for (const arr of got.values()) {
      expect(arr[0]![0]).toBeGreaterThanOrEqual(mint);
      expect(arr[arr.length - 1]![0]).toBeLessThan(maxt);
    }
    expect(got.get('{__name__="m", i="a"}')!.length).toBe(range(mint, maxt - 1, 15_000).length);
    expect(res!.meta.minTime).toBe(mint);
    expect(res!.meta.maxTime).toBeLessThanOrEqual(maxt);
    expect(res!.meta.compaction.parents).toBeUndefined();
    await b.close();
  });

  test('nothing in range writes no block', async () => {
    const out = join(dir, 'out3');
    await mkdir(out);
    expect(await compactSources(blocks.map(blockSource), out, { mint: 1e12, maxt: 1e12 + 1000 })).toBeNull();
    expect(await readdir(out)).toEqual([]);
  });

  test.runIf(hasPromtool)('promtool accepts the merged block and dumps the same samples as the inputs', async () => {
    const out = join(dir, 'out4');
    await mkdir(join(out, 'wal'), { recursive: true });
    await compactSources(blocks.map(blockSource), out, { mint: 0, maxt: 3 * 3_600_000 });
    execFileSync('promtool', ['tsdb', 'analyze', out], { encoding: 'utf8' });
    const dumped = execFileSync('promtool', ['tsdb', 'dump', out], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split('\n');
    const inDir = join(dir, 'in');
    await mkdir(join(inDir, 'wal'), { recursive: true });
    // promtool's dump of overlapping inputs merges them the same way (vertical query merge).
    const inDump = execFileSync('promtool', ['tsdb', 'dump', inDir], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split('\n');
    expect(dumped.sort()).toEqual([...new Set(inDump)].sort());
  });
});
