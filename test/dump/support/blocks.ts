/**
 * Small deterministic block sets for the dump tests: `n` consecutive 2 h blocks of a few
 * series with known values, chunks cut as Prometheus's head cuts them.
 */
import { mkdir } from 'node:fs/promises';
import { Labels, Matcher, MatchType, ValueType } from '../../../src/storage/index.js';
import { cutPoints, XORChunk } from '../../../src/tsdb/chunkenc/index.js';
import type { ChunkMeta } from '../../../src/tsdb/chunks/index.js';
import { openBlock, writeBlock, type BlockMeta } from '../../../src/tsdb/block/index.js';

export const H = 3_600_000;
export const BLOCK = 2 * H;
/** 2 h aligned origin. */
export const T0 = 1_700_000_000_000 - (1_700_000_000_000 % BLOCK);

export function seriesLabels(n: number): Labels[] {
  const out: Labels[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Labels.fromPairs('__name__', i % 3 === 0 ? 'up' : 'mattermost_http_requests_total', 'instance', `mm-app-${i % 4}:8067`, 'job', 'mattermost', 'handler', `h${i}`));
  }
  return out;
}

/** Value of series `si` at `t` (exact in a double). */
export const valueAt = (si: number, t: number, salt = 0) => si * 1_000_000 + (t - T0) / 1000 + salt;

function chunksOf(ts: number[], f: (t: number) => number): ChunkMeta[] {
  const cuts = cutPoints(ts);
  const out: ChunkMeta[] = [];
  for (let k = 0; k < cuts.length; k++) {
    const from = cuts[k] as number;
    const to = k + 1 < cuts.length ? (cuts[k + 1] as number) : ts.length;
    const c = new XORChunk();
    const a = c.appender();
    for (let i = from; i < to; i++) a.append(ts[i] as number, f(ts[i] as number));
    out.push({ ref: 0, minTime: ts[from] as number, maxTime: ts[to - 1] as number, chunk: c });
  }
  return out;
}

export interface BlockSpec {
  mint: number;
  maxt: number;
  series: Labels[];
  step: number;
  /** Timestamp offset inside the step (0 for the regular grid). */
  offset?: number;
  salt?: number;
}

/** Writes one block per spec into `dir`; returns the metas. */
export async function writeBlocks(dir: string, specs: BlockSpec[]): Promise<BlockMeta[]> {
  await mkdir(dir, { recursive: true });
  const metas: BlockMeta[] = [];
  for (const sp of specs) {
    const series = sp.series.map((labels) => {
      const si = Number(labels.get('handler').slice(1));
      const ts: number[] = [];
      for (let t = sp.mint + (sp.offset ?? 0); t < sp.maxt; t += sp.step) ts.push(t);
      return { labels, chunks: chunksOf(ts, (t) => valueAt(si, t, sp.salt ?? 0)) };
    });
    const m = await writeBlock(dir, { mint: sp.mint, maxt: sp.maxt, series });
    if (m) metas.push(m);
  }
  return metas;
}

/** Every sample of the block at `dir`, by series string. */
export async function readBlockSamples(dir: string): Promise<Map<string, Array<[number, number]>>> {
  const b = await openBlock(dir);
  const q = b.querier(-1e15, 1e15);
  const ss = q.select(true, null, new Matcher(MatchType.Regexp, '__name__', '.+'));
  const m = new Map<string, Array<[number, number]>>();
  while (ss.next()) {
    const it = ss.at().iterator();
    const arr: Array<[number, number]> = [];
    while (it.next() === ValueType.Float) arr.push([it.atT(), it.atV()]);
    m.set(ss.at().labels().toString(), arr);
  }
  const err = ss.err();
  q.close();
  await b.close();
  if (err) throw err;
  return m;
}

/** Expected samples of a spec list restricted to [mint, maxt] (inclusive), merged by timestamp. */
export function expectedSamples(specs: BlockSpec[], mint: number, maxt: number, keep: (l: Labels) => boolean = () => true): Map<string, Array<[number, number]>> {
  const m = new Map<string, Map<number, number>>();
  for (const sp of specs) {
    for (const l of sp.series) {
      if (!keep(l)) continue;
      const si = Number(l.get('handler').slice(1));
      let e = m.get(l.toString());
      for (let t = sp.mint + (sp.offset ?? 0); t < sp.maxt; t += sp.step) {
        if (t < mint || t > maxt) continue;
        if (!e) m.set(l.toString(), (e = new Map()));
        if (!e.has(t)) e.set(t, valueAt(si, t, sp.salt ?? 0));
      }
    }
  }
  const out = new Map<string, Array<[number, number]>>();
  for (const [k, v] of m) out.set(k, [...v.entries()].sort((a, b) => a[0] - b[0]));
  return out;
}
