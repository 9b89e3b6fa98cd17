/**
 * Shared scaffolding for the TSDB tests (test/tsdb/db, test/tsdb/delete): temp dirs
 * cleaned in afterAll, a silent logger, writing a grid of samples through the real
 * appender, reading everything back as comparable lines, and two tools for
 * chunks_head tests (a WAL rewritten without the samples the head chunk files hold,
 * and a content hash of a directory tree).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { Labels, Matcher, MatchType, ValueType } from '../../src/storage/index.js';
import type { DB } from '../../src/tsdb/db.js';
import { Encbuf } from '../../src/tsdb/encoding/index.js';
import { ChunkDiskMapper, LoadedChunks } from '../../src/tsdb/head/chunk-disk-mapper.js';
import { decodeSamples, encodeSamples, recordType, RecordType, SampleBatch } from '../../src/tsdb/record/index.js';
import { lastCheckpoint, openReader, WAL, type SegmentRange } from '../../src/tsdb/wal/index.js';
import { startPrometheus, type Prometheus, type PromMatrixElem } from './prometheus.js';
import { mattermostTarget, TargetServer } from './target-server.js';

/** A logger that drops everything (DBOptions.logger). */
export const quietLogger = { info: (): void => {}, warn: (): void => {} };

/** Cleanups run in reverse order by `runCleanups` (call it from afterAll). */
export class Cleanups {
  private readonly fns: (() => Promise<unknown> | unknown)[] = [];
  /** Registers `fn` to run at `run()`. */
  defer(fn: () => Promise<unknown> | unknown): void {
    this.fns.push(fn);
  }
  /** A new temp dir under os.tmpdir(), removed at `run()`. */
  async tmp(prefix = 'mm-tsdb-'): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), prefix));
    this.defer(() => rm(d, { recursive: true, force: true }));
    return d;
  }
  /** Runs every registered cleanup (newest first), even when some fail; throws the first failure. */
  async run(): Promise<void> {
    let first: unknown = null;
    for (const f of this.fns.splice(0).reverse()) {
      try {
        await f();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== null) throw first;
  }
}

/** A value as the tests print it: JS rendering, with -0 kept apart from 0. */
export function fmtValue(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

/** A Prometheus API value string as a number. */
export function promValue(s: string): number {
  return s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s);
}

/**
 * Every sample a DB returns for [mint, maxt] as `labels t value` lines (stale markers as
 * `stale` when `withStale`, else left out), in the querier's order. Fails the test on an
 * iterator or set error.
 */
export function dbSamples(db: DB, mint = -Infinity, maxt = Infinity, withStale = true, ...matchers: Matcher[]): string[] {
  const q = db.querier(mint, maxt);
  const set = q.select(true, null, ...(matchers.length > 0 ? matchers : [new Matcher(MatchType.Regexp, '__name__', '.+')]));
  const out: string[] = [];
  while (set.next()) {
    const s = set.at();
    const it = s.iterator();
    while (it.next() === ValueType.Float) {
      if (it.atStale()) {
        if (withStale) out.push(`${s.labels().toString()} ${it.atT()} stale`);
      } else out.push(`${s.labels().toString()} ${it.atT()} ${fmtValue(it.atV())}`);
    }
    expect(it.err()).toBeNull();
  }
  expect(set.err()).toBeNull();
  q.close();
  return out;
}

/**
 * Appends `n` scrapes of `series` (one commit each): scrape k of series i at time
 * `t(k)` with value `v(k, i)`. Returns the written samples as `dbSamples` lines.
 */
export async function ingest(db: DB, series: readonly Labels[], n: number, t: (k: number) => number, v: (k: number, i: number) => number): Promise<string[]> {
  const refs = new Array<number>(series.length).fill(0);
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const app = db.appender();
    for (let i = 0; i < series.length; i++) {
      const l = series[i] as Labels;
      refs[i] = app.append(refs[i] as number, l, t(k), v(k, i));
      out.push(`${l.toString()} ${t(k)} ${fmtValue(v(k, i))}`);
    }
    await app.commit();
  }
  return out;
}

/** Series ref → maxt of its newest chunk in `<dir>/chunks_head` (read-only; nothing changed). */
export function mmappedMaxt(dir: string): Map<number, number> {
  const out = new Map<number, number>();
  const hc = join(dir, 'chunks_head');
  if (!existsSync(hc)) return out;
  const m = new ChunkDiskMapper(hc, { readOnly: true });
  try {
    const loaded = m.loadAll();
    const d = loaded.chunks.data;
    const S = LoadedChunks.STRIDE;
    for (let c = 0; c < loaded.chunks.length; c++) {
      const ref = d[c * S] as number;
      out.set(ref, Math.max(out.get(ref) ?? -Infinity, d[c * S + 3] as number));
    }
  } finally {
    m.close();
  }
  return out;
}

/**
 * Rewrites `<dir>/wal` (checkpoint + segments, ours or Prometheus's) into one new WAL
 * without the samples that `<dir>/chunks_head` holds (t ≤ the series' newest m-mapped
 * maxt), every other record unchanged: afterwards those samples exist nowhere but in
 * the head chunk files (what a WAL truncated past them looks like). Returns how many
 * samples were dropped and kept.
 */
export async function dropMmappedSamplesFromWAL(dir: string): Promise<{ dropped: number; kept: number }> {
  const mm = mmappedMaxt(dir);
  const walDir = join(dir, 'wal');
  const ranges: SegmentRange[] = [];
  const cp = await lastCheckpoint(walDir);
  if (cp !== null) ranges.push({ dir: cp.dir });
  ranges.push({ dir: walDir, first: cp === null ? undefined : cp.index + 1 });
  const r = openReader(ranges);
  const recs: Uint8Array[] = [];
  const b = new SampleBatch();
  const keep = new SampleBatch();
  let dropped = 0;
  while (r.next()) {
    const rec = r.record();
    if (recordType(rec) !== RecordType.Samples) {
      recs.push(rec.slice());
      continue;
    }
    decodeSamples(rec, b);
    keep.reset();
    for (let i = 0; i < b.length; i++) {
      const ref = b.refs[i] as number;
      const t = b.ts[i] as number;
      if (t <= (mm.get(ref) ?? -Infinity)) {
        dropped++;
        continue;
      }
      if (b.stale[i] === 1) keep.pushStale(ref, t);
      else keep.push(ref, t, b.vs[i] as number);
    }
    if (keep.length === 0) continue;
    const e = new Encbuf();
    encodeSamples(keep, e);
    recs.push(e.get().slice());
  }
  const err = r.err();
  r.close();
  if (err !== null) throw err;
  await rm(walDir, { recursive: true, force: true });
  const wal = await WAL.open(walDir, { sync: false });
  let kept = 0;
  for (const rec of recs) {
    await wal.log(rec);
    if (recordType(rec) === RecordType.Samples) {
      decodeSamples(rec, b);
      kept += b.length;
    }
  }
  await wal.close();
  return { dropped, kept };
}

/**
 * Path (relative) → `size mtimeMs sha256` of every file under `dir`, and `dir/` entries
 * for directories: two equal results mean nothing was created, removed or changed.
 */
export function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      if (e.isDirectory()) {
        out.set(rel + '/', 'dir');
        walk(p);
      } else {
        const st = statSync(p);
        out.set(rel, `${st.size} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
      }
    }
  };
  walk(dir);
  return out;
}

/** A Prometheus range result as `dbSamples` lines (`labels t value`, same value rendering). */
export function promSampleLines(res: readonly PromMatrixElem[]): string[] {
  const out: string[] = [];
  for (const s of res) {
    const l = Labels.fromObject(s.metric).toString();
    for (const x of s.values) out.push(`${l} ${x.t} ${fmtValue(promValue(x.value))}`);
  }
  return out;
}

/**
 * A real Prometheus 2.42 scraping a local Mattermost-like target (`series`, `seed`)
 * every `interval`, its data kept after stop (`prom.dataDir`); stopping it, closing the
 * target and removing its directory are registered on `cleanups`.
 */
export async function scrapingPrometheus(cleanups: Cleanups, o: { series: number; seed: number; interval: string; timeout: string }): Promise<{ prom: Prometheus; target: TargetServer }> {
  const target = await TargetServer.start();
  cleanups.defer(() => target.close());
  target.define('/metrics', mattermostTarget({ series: o.series, seed: o.seed }));
  const prom = await startPrometheus({
    keepData: true,
    global: { scrape_interval: o.interval, scrape_timeout: o.timeout },
    scrapeConfigs: [{ job_name: 'mm', static_configs: [{ targets: [target.address] }] }],
  });
  cleanups.defer(async () => {
    await prom.stop();
    await rm(prom.dir, { recursive: true, force: true });
  });
  return { prom, target };
}
