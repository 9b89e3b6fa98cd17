/**
 * Side by side with the real promtool 2.42 (/usr/bin/promtool): the same OpenMetrics
 * input through `promtool tsdb create-blocks-from openmetrics` and through ours must
 * give the same blocks (index, chunk files and tombstones byte-identical, meta.json
 * equal but for the ULID), the same `promtool tsdb dump`, and our list/analyze/dump
 * must print what promtool prints for the same directories.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { backfillOpenMetrics } from '../../../src/cli/tsdb-backfill.js';
import { analyzeBlock, dumpSamples, listBlocks, openBlocksReadOnly } from '../../../src/cli/tsdb.js';
import { defaultGenOptions, generateOpenMetrics } from './mm-gen.js';

const run = promisify(execFile);
const PROMTOOL = '/usr/bin/promtool';
let tmp: string;
let n = 0;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mm-promtool-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function promtool(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(PROMTOOL, args, { maxBuffer: 1 << 30 });
    return { stdout: r.stdout, stderr: r.stderr, code: 0 };
  } catch (e) {
    const x = e as { stdout: string; stderr: string; code: number };
    return { stdout: x.stdout, stderr: x.stderr, code: x.code };
  }
}

/** Both importers on one input; returns the two output dirs and what each printed. */
async function importBoth(text: string, extra: string[] = [], maxBlockDuration = 0) {
  const dir = join(tmp, `case${n++}`);
  await mkdir(dir);
  const input = join(dir, 'input.om');
  await writeFile(input, text);
  const P = join(dir, 'promtool');
  const O = join(dir, 'ours');
  const p = await promtool('tsdb', 'create-blocks-from', ...extra, 'openmetrics', input, P);
  let out = '';
  let err = '';
  try {
    await backfillOpenMetrics(input, O, { maxBlockDuration, out: (s) => (out += s), humanReadable: extra.includes('-r') });
  } catch (e) {
    err = (e as Error).message;
  }
  return { P, O, p, out, err };
}

async function blockDirs(d: string): Promise<string[]> {
  return (await readdir(d)).filter((x) => /^[0-7][0-9A-Z]{25}$/.test(x));
}

/** Pairs blocks by minTime and compares their files byte for byte. */
async function expectSameBlocks(P: string, O: string): Promise<number> {
  const load = async (d: string) => {
    const out = new Map<number, string>();
    for (const b of await blockDirs(d)) out.set(JSON.parse(await readFile(join(d, b, 'meta.json'), 'utf8')).minTime, b);
    return out;
  };
  const pb = await load(P);
  const ob = await load(O);
  expect([...ob.keys()].sort()).toEqual([...pb.keys()].sort());
  for (const [mint, pu] of pb) {
    const ou = ob.get(mint)!;
    const files = ['index', 'tombstones', ...(await readdir(join(P, pu, 'chunks'))).map((c) => `chunks/${c}`)];
    expect((await readdir(join(O, ou, 'chunks'))).length).toBe(files.length - 2);
    for (const f of files) {
      const a = await readFile(join(P, pu, f));
      const b = await readFile(join(O, ou, f));
      expect(Buffer.compare(a, b), `${f} of the block starting at ${mint}`).toBe(0);
    }
    const pm = (await readFile(join(P, pu, 'meta.json'), 'utf8')).split(pu).join('ULID');
    const om = (await readFile(join(O, ou, 'meta.json'), 'utf8')).split(ou).join('ULID');
    expect(om).toBe(pm);
  }
  return pb.size;
}

const noUlid = (s: string) => s.replace(/[0-7][0-9A-HJKMNP-TV-Z]{25}/g, 'ULID');

async function ourDump(dir: string, match = "{__name__=~'(?s:.*)'}", mint = -(2 ** 63), maxt = 2 ** 63): Promise<string> {
  const db = openBlocksReadOnly(dir);
  let s = '';
  try {
    await dumpSamples(db, mint, maxt, match, (x) => {
      s += x;
    });
  } finally {
    await db.close();
  }
  return s;
}

async function promtoolDump(dir: string, ...flags: string[]): Promise<string> {
  await mkdir(join(dir, 'wal'), { recursive: true });
  const r = await promtool('tsdb', 'dump', ...flags, dir);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

/** analyze output with each list's lines sorted (Go sorts ties in no fixed order). */
function analyzeSections(s: string): string[][] {
  return s.split('\n\n').map((sec) => {
    const [head, ...rest] = sec.split('\n');
    return [head!, ...rest.filter((l) => l !== '').sort()];
  });
}

describe('Mattermost-like input: promtool and we write the same blocks', () => {
  let c: Awaited<ReturnType<typeof importBoth>>;
  let gen: ReturnType<typeof generateOpenMetrics>;
  beforeAll(async () => {
    const o = defaultGenOptions();
    if (process.env.MM_SOAK === '1') Object.assign(o, { instances: 4, handlers: 30, durationSec: 13 * 3600 });
    else Object.assign(o, { instances: 3, handlers: 8 });
    gen = generateOpenMetrics(o);
    c = await importBoth(gen.text);
  }, 180_000);

  test('the input is realistic: thousands of series, hundreds of thousands of samples', () => {
    expect(gen.series).toBeGreaterThan(1500);
    expect(gen.samples).toBeGreaterThan(300_000);
    expect(c.p.code, c.p.stderr).toBe(0);
    expect(c.err).toBe('');
  });

  test('every block has byte-identical index, chunk files and tombstones, and the same meta.json', async () => {
    expect(await expectSameBlocks(c.P, c.O)).toBeGreaterThanOrEqual(3);
  });

  test('our import prints the block table promtool prints (ULIDs aside)', () => {
    expect(noUlid(c.out)).toBe(noUlid(c.p.stdout));
  });

  test('promtool dumps both directories identically, and our dump equals promtool dump', async () => {
    const pd = await promtoolDump(c.P);
    expect(await promtoolDump(c.O)).toBe(pd);
    expect(await ourDump(c.P)).toBe(pd);
    expect(pd.split('\n').length - 1).toBe(gen.samples - 0);
  }, 120_000);

  test('dump with --match and a time range equals promtool', async () => {
    const flags = ['--min-time=1700005000000', '--max-time=1700009000000', '--match={__name__=~"mattermost_api_time_(count|sum)", handler!="createPost", page_load_context=""}'];
    const pd = await promtoolDump(c.P, ...flags);
    expect(pd.length).toBeGreaterThan(1000);
    expect(await ourDump(c.P, flags[2]!.slice(8), 1700005000000, 1700009000000)).toBe(pd);
  }, 60_000);

  test('our list equals promtool list, plain and human readable', async () => {
    for (const dir of [c.P, c.O]) {
      expect(listBlocks(dir, false)).toBe((await promtool('tsdb', 'list', dir)).stdout);
      expect(listBlocks(dir, true)).toBe((await promtool('tsdb', 'list', '-r', dir)).stdout);
    }
  });

  test('promtool analyze accepts our blocks and our analyze prints the same lists', async () => {
    for (const id of await blockDirs(c.O)) {
      const p = await promtool('tsdb', 'analyze', '--extended', '--limit=1000000', c.O, id);
      expect(p.code, p.stderr).toBe(0);
      expect(analyzeSections(analyzeBlock(c.O, id, 1_000_000, true))).toEqual(analyzeSections(p.stdout));
      expect(p.stdout).toContain('Compaction analysis:');
    }
    // Default limit: same numbers in the same order (ties may list other names). promtool breaks
    // ties in map order, so a tied entry whose label value holds a newline (the generator's escape
    // case) may print on two lines in one run and not at all in another: compare the count of each
    // entry and the section headings, not the continuation lines of a multi-line value.
    const nums = (s: string) =>
      s.split('\n').filter((l) => /^(\d+ |[A-Z]|$)/.test(l)).map((l) => l.split(' ')[0]);
    expect(nums(analyzeBlock(c.P, '', 20))).toEqual(nums((await promtool('tsdb', 'analyze', c.P)).stdout));
  }, 60_000);
});

const om = (...lines: string[]) => lines.join('\n') + '\n# EOF\n';
const H = 3600;
const seq = (name: string, from: number, count: number, step: number, v: (i: number) => number | string = (i) => i) =>
  Array.from({ length: count }, (_, i) => `${name} ${v(i)} ${from + i * step}`);

describe.each<[string, string, number?]>([
  ['a single sample', om('# TYPE a gauge', 'a 1 100')],
  ['samples on and around 2h window edges', om('# TYPE a gauge', ...[2 * H - 1, 2 * H, 2 * H + 1, 4 * H - 1, 4 * H].map((t, i) => `a{x="y"} ${i} ${t}`))],
  ['a 15s series over 9h (120-sample chunks, 4h chunk range of the import head)', om('# TYPE a counter', ...seq('a_total{job="j"}', 1_700_000_000, 9 * 240, 15))],
  ['a rate change after 30 samples forces the 240-sample cut', om('# TYPE a gauge', ...seq('a', 7200, 30, 60), ...seq('a', 7200 + 1800, 600, 1))],
  ['special values and empty label values', om('# TYPE a gauge', 'a{e=""} NaN 1', 'a{e=""} +Inf 2', 'a{e=""} -Inf 3', 'a{e=""} 1e-300 4', 'a{e=""} -0 5', 'a{e=""} 1.7976931348623157e308 6')],
  ['repeats and reorders within one commit batch are dropped', om('# TYPE a gauge', 'a 1 100', 'a 1 100', 'a 2 100', 'a 3 50', 'a 4 200')],
  ['negative timestamps before the first window are skipped as promtool does', om('# TYPE a gauge', 'a -1 -5', 'a 1 10')],
  ['quarter-second timestamps', om('# TYPE a gauge', ...seq('a', 1000.25, 300, 0.25))],
  ['data far apart leaves empty windows out', om('# TYPE a gauge', ...seq('a', 0, 10, 60), ...seq('a', 30 * H, 10, 60))],
  ['unicode ordering of label values (astral vs U+FFFD)', om('# TYPE a gauge', 'a{v="\u{1F600}"} 1 1', 'a{v="\uFFFD"} 2 1', 'a{v="z"} 3 1', 'a{v="é"} 4 1')],
  ['more than 5000 samples in a window (several commit batches)', om('# TYPE a gauge', ...seq('a{s="1"}', 0, 3000, 1), ...seq('a{s="2"}', 0, 3000, 1), ...seq('a{s="3"}', 0, 3000, 1))],
  ['6h blocks with --max-block-duration', om('# TYPE a gauge', ...seq('a', 0, 2000, 30)), 6 * H * 1000],
  ['18h blocks with --max-block-duration above 18h', om('# TYPE a gauge', ...seq('a', 0, 3000, 60)), 20 * H * 1000],
])('edge case: %s', (_name, text, maxBlockDuration) => {
  test('same blocks byte for byte, same table and same dump', async () => {
    const extra = maxBlockDuration ? [`--max-block-duration=${maxBlockDuration / 1000}s`] : [];
    const c = await importBoth(text, extra, maxBlockDuration ?? 0);
    expect(c.p.code, c.p.stderr).toBe(0);
    expect(c.err).toBe('');
    await expectSameBlocks(c.P, c.O);
    expect(noUlid(c.out)).toBe(noUlid(c.p.stdout));
    const pd = await promtoolDump(c.P);
    expect(await promtoolDump(c.O)).toBe(pd);
    expect(await ourDump(c.P)).toBe(pd);
  });
});

describe.each<[string, string]>([
  ['a sample without timestamp', om('# TYPE a gauge', 'a 1')],
  ['a repeated label name', om('# TYPE a gauge', 'a{x="1",x="2"} 1 100')],
  ['an out-of-order sample across commit batches', om('# TYPE a gauge', 'a 1 100', ...seq('b', 0, 5000, 1), 'a 2 99')],
  ['a different value for the same timestamp across batches', om('# TYPE a gauge', 'a 1 100', ...seq('b', 0, 5000, 1), 'a 2 100')],
])('rejected input: %s', (_name, text) => {
  test('both fail with the same message', async () => {
    const c = await importBoth(text);
    expect(c.p.code).not.toBe(0);
    expect(c.err).not.toBe('');
    expect(c.err).toBe(c.p.stderr.trim().split('\n').pop());
  });
});

describe('blocks only we can make, read by promtool', () => {
  test('many chunk segment files (refs above 2^32), stale markers, NaN and astral label values', async () => {
    const { writeBlock } = await import('../../../src/tsdb/block/index.js');
    const { XORChunk } = await import('../../../src/tsdb/chunkenc/index.js');
    const { Labels } = await import('../../../src/storage/index.js');
    const dir = join(tmp, `ours-only-${n++}`);
    const series = Array.from({ length: 40 }, (_, i) => {
      const chunks = [0, 1, 2].map((c) => {
        const ch = new XORChunk();
        const a = ch.appender();
        const t0 = 1_700_000_000_000 + c * 3_600_000;
        for (let k = 0; k < 60; k++) {
          if (k % 13 === 12) a.appendStale(t0 + k * 15_000);
          else a.append(t0 + k * 15_000, k % 11 === 10 ? NaN : (i + 1) * 1000 + k * 0.5);
        }
        return { ref: 0, minTime: t0, maxTime: t0 + 59 * 15_000, chunk: ch };
      });
      return { labels: Labels.fromObject({ __name__: 'm', i: String(i), v: i % 2 ? '😀 astral' : '\uFFFD bmp' }), chunks };
    });
    const meta = await writeBlock(dir, { mint: 1_700_000_000_000, maxt: 1_700_000_000_000 + 3 * 3_600_000, series, segmentSize: 2048 });
    expect((await readdir(join(dir, meta!.ulid, 'chunks'))).length).toBeGreaterThan(10);
    const list = await promtool('tsdb', 'list', dir);
    expect(list.code, list.stderr).toBe(0);
    expect(listBlocks(dir, false)).toBe(list.stdout);
    const pd = await promtoolDump(dir);
    expect(pd.split('\n').length - 1).toBe(40 * 180);
    expect(pd).toContain('NaN');
    expect(await ourDump(dir)).toBe(pd);
    const an = await promtool('tsdb', 'analyze', '--extended', dir);
    expect(an.code, an.stderr).toBe(0);
  }, 60_000);
});
