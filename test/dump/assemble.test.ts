import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Matcher, MatchType, type Labels } from '../../src/storage/index.js';
import { openBlock, type BlockMeta } from '../../src/tsdb/block/index.js';
import { blockSource } from '../../src/tsdb/compact/sources.js';
import { MemTombstones, writeTombstones } from '../../src/tsdb/tombstones/index.js';
import { assembleDumpBlock, clusterInputs, type DumpInput } from '../../src/dump/assemble.js';
import { BLOCK, H, T0, expectedSamples, readBlockSamples, seriesLabels, writeBlocks, type BlockSpec } from './support/blocks.js';

const STEP = 30_000;
const SERIES = seriesLabels(12);
const N = 24; // two days of 2 h blocks

const hasPromtool = (() => {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Inputs over block dirs; counts acquisitions and releases. */
function inputsOf(dir: string, metas: BlockMeta[], counts = { acquired: 0, released: 0, open: 0, maxOpen: 0 }): DumpInput[] {
  return metas.map((m) => ({
    name: `block ${m.ulid}`,
    minTime: m.minTime,
    maxTime: m.maxTime,
    weight: m.stats?.numSamples ?? 0,
    acquire: async () => {
      const b = await openBlock(join(dir, m.ulid));
      counts.acquired++;
      counts.open++;
      counts.maxOpen = Math.max(counts.maxOpen, counts.open);
      let done = false;
      return {
        block: b,
        source: blockSource(b),
        release: async () => {
          if (done) return;
          done = true;
          counts.released++;
          counts.open--;
          await b.close();
        },
      };
    },
  }));
}

describe('assembleDumpBlock', () => {
  let dir: string;
  const specs: BlockSpec[] = [];
  let metas: BlockMeta[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-assemble-'));
    for (let i = 0; i < N; i++) {
      // Series 11 goes away after the first day; series 10 appears in the second.
      const series = SERIES.filter((l) => !(l.get('handler') === 'h11' && i >= N / 2) && !(l.get('handler') === 'h10' && i < N / 2));
      specs.push({ mint: T0 + i * BLOCK, maxt: T0 + (i + 1) * BLOCK, series, step: STEP });
    }
    metas = await writeBlocks(join(dir, 'in'), specs);
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(name: string, inputs: DumpInput[], mint: number, maxt: number, selectors?: Matcher[][]) {
    const out = join(dir, name);
    const scratch = join(dir, `${name}-scratch`);
    await rm(out, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
    await mkdir(scratch, { recursive: true });
    const segments: string[] = [];
    const res = await assembleDumpBlock(inputs, out, {
      ulid: '01HZZZZZZZZZZZZZZZZZZZZZZZ',
      mint,
      maxt,
      scratchDir: scratch,
      ...(selectors ? { selectors } : {}),
      onSegment: (n) => segments.push(n),
      segmentSize: 64 * 1024,
    });
    return { res, out, segments };
  }

  test('two days of blocks in one range: whole blocks are linked, the edges cut, and every sample in the range is there exactly once', async () => {
    const counts = { acquired: 0, released: 0, open: 0, maxOpen: 0 };
    const mint = T0 + BLOCK + 7_500; // inside block 1, not on a sample
    const maxt = T0 + (N - 1) * BLOCK + H + 1; // inside the last block
    const { res, segments } = await run('range', inputsOf(join(dir, 'in'), metas, counts), mint, maxt + 1);
    expect(res).not.toBeNull();
    const r = res!;
    expect(r.linkedClusters).toBe(N - 3); // block 0 is outside; blocks 1 and N-1 are cut
    expect(r.mergedClusters).toBe(2);
    expect(segments).toEqual(Array.from({ length: segments.length }, (_, i) => String(i + 1).padStart(6, '0')));
    expect(await readdir(join(r.dir, 'chunks'))).toEqual(segments);
    const got = await readBlockSamples(r.dir);
    const want = expectedSamples(specs, mint, maxt);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, v] of want) expect(got.get(k), k).toEqual(v);
    const total = [...want.values()].reduce((a, v) => a + v.length, 0);
    expect(r.meta.stats?.numSamples).toBe(total);
    expect(r.meta.stats?.numSeries).toBe(want.size);
    expect(r.meta.minTime).toBe(Math.min(...[...want.values()].map((v) => v[0]![0])));
    // Inputs are held one cluster (plus one prefetched) at a time, and all released.
    expect(counts.maxOpen).toBeLessThanOrEqual(2);
    expect(counts.released).toBe(counts.acquired);
  });

  test.runIf(hasPromtool)('promtool reads the assembled block (linked and written segments) and dumps every sample', async () => {
    const { res } = await run('promtool', inputsOf(join(dir, 'in'), metas), T0 + H, T0 + N * BLOCK - H);
    await mkdir(join(dir, 'promtool', 'wal'));
    const dumped = execFileSync('promtool', ['tsdb', 'dump', join(dir, 'promtool')], { encoding: 'utf8', maxBuffer: 256 << 20 });
    const lines = dumped.trim().split('\n').length;
    expect(lines).toBe(res!.meta.stats?.numSamples);
    execFileSync('promtool', ['tsdb', 'analyze', join(dir, 'promtool'), res!.meta.ulid], { encoding: 'utf8' });
  });

  test('selectors keep only matching series and write their chunks instead of linking whole files', async () => {
    const sel = [[new Matcher(MatchType.Equal, '__name__', 'up')]];
    const mint = T0;
    const maxt = T0 + N * BLOCK - 1;
    const { res } = await run('selected', inputsOf(join(dir, 'in'), metas), mint, maxt + 1, sel);
    expect(res!.linkedClusters).toBe(0);
    expect(res!.passedChunks).toBeGreaterThan(0);
    const got = await readBlockSamples(res!.dir);
    const want = expectedSamples(specs, mint, maxt, (l: Labels) => l.get('__name__') === 'up');
    expect(got).toEqual(want);
    // Filtered: far smaller than the inputs' chunk files.
    const size = (await stat(join(res!.dir, 'chunks', '000001'))).size;
    expect(size).toBeLessThan(metas.length * 0.5 * (await stat(join(dir, 'in', metas[0]!.ulid, 'chunks', '000001'))).size);
  });

  test('overlapping blocks from two leaders are merged, and the clusters around them are still linked', async () => {
    const extraSpecs: BlockSpec[] = [{ mint: T0 + 5 * BLOCK + H, maxt: T0 + 7 * BLOCK, series: SERIES.slice(0, 6), step: STEP, offset: 5_000, salt: 0.5 }];
    const extra = await writeBlocks(join(dir, 'extra'), extraSpecs);
    const inputs = [...inputsOf(join(dir, 'in'), metas), ...inputsOf(join(dir, 'extra'), extra)];
    const mint = T0;
    const maxt = T0 + N * BLOCK - 1;
    const { res } = await run('overlap', inputs, mint, maxt + 1);
    expect(res!.mergedClusters).toBe(1); // blocks 5, 6 and the extra one
    expect(res!.linkedClusters).toBe(N - 2);
    const got = await readBlockSamples(res!.dir);
    const want = expectedSamples([...specs, ...extraSpecs], mint, maxt);
    for (const [k, v] of want) expect(got.get(k), k).toEqual(v);
  });

  test('a block with tombstones is rewritten without the deleted samples', async () => {
    const [m] = await writeBlocks(join(dir, 'tomb'), [specs[3]!]);
    const b = await openBlock(join(dir, 'tomb', m!.ulid));
    const ir = b.index();
    const id = ir.postings('handler', 'h1')[0]!;
    await b.close();
    const del = { mint: T0 + 3 * BLOCK + H, maxt: T0 + 3 * BLOCK + H + 10 * STEP };
    const t = new MemTombstones();
    t.addInterval(id, del);
    await writeTombstones(join(dir, 'tomb', m!.ulid), t);
    const { res } = await run('tombs', inputsOf(join(dir, 'tomb'), [m!]), T0, T0 + N * BLOCK);
    expect(res!.linkedClusters).toBe(0);
    const got = await readBlockSamples(res!.dir);
    const key = SERIES[1]!.toString();
    const want = expectedSamples([specs[3]!], T0, T0 + N * BLOCK).get(key)!.filter(([ts]) => ts < del.mint || ts > del.maxt);
    expect(got.get(key)).toEqual(want);
  });

  test('a range without samples gives null and leaves no block directory', async () => {
    const { res, out } = await run('empty', inputsOf(join(dir, 'in'), metas), T0 - 10 * BLOCK, T0 - 9 * BLOCK);
    expect(res).toBeNull();
    expect(await readdir(out)).toEqual([]);
  });

  test('an abort between clusters stops the assembly and releases every input', async () => {
    const counts = { acquired: 0, released: 0, open: 0, maxOpen: 0 };
    const ac = new AbortController();
    const inputs = inputsOf(join(dir, 'in'), metas, counts).map((x, i) => ({
      ...x,
      acquire: async () => {
        if (i === 5) ac.abort(new Error('cancelled by test'));
        return x.acquire();
      },
    }));
    const scratch = join(dir, 'abort-scratch');
    await mkdir(scratch, { recursive: true });
    await expect(assembleDumpBlock(inputs, join(dir, 'abort'), { ulid: '01HZZZZZZZZZZZZZZZZZZZZZZZ', mint: T0, maxt: T0 + N * BLOCK, scratchDir: scratch, signal: ac.signal })).rejects.toThrow(/cancelled by test/);
    expect(counts.released).toBe(counts.acquired);
    expect(counts.acquired).toBeLessThan(N);
  });
});

describe('clusterInputs', () => {
  test.each([
    ['adjacent ranges stay apart', [[0, 10], [10, 20], [20, 30]], [[[0, 10]], [[10, 20]], [[20, 30]]]],
    ['an overlap joins two ranges', [[0, 10], [5, 20], [20, 30]], [[[0, 10], [5, 20]], [[20, 30]]]],
    ['a long range swallows the ones it covers, in any input order', [[20, 25], [0, 100], [10, 12], [100, 110]], [[[0, 100], [10, 12], [20, 25]], [[100, 110]]]],
  ])('%s', (_name, ranges, want) => {
    const got = clusterInputs(ranges.map(([minTime, maxTime]) => ({ minTime: minTime!, maxTime: maxTime! })));
    expect(got.map((c) => c.map((x) => [x.minTime, x.maxTime]))).toEqual(want);
  });
});
