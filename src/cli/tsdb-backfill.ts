/**
 * `tsdb create-blocks-from openmetrics FILE DIR`: promtool 2.42's backfill
 * (cmd/promtool/backfill.go), step for step, so the same input gives the same blocks,
 * chunks and bytes (only the ULIDs differ):
 *
 *   1. one pass over the file for the min and max timestamp (every sample needs one);
 *   2. block duration 2h (or the largest 2h·3^k <= --max-block-duration); the first
 *      window starts at mint rounded down to it (Go integer division);
 *   3. per window [t, t+duration) containing samples: the whole file is parsed again and
 *      its samples in the window are appended to a fresh in-memory head whose chunk range
 *      is 2 × duration (`BlockWriter`), committing every 5000 samples; then the head is
 *      written as one block [first sample, last sample + 1) and listed unless --quiet.
 *
 * Windows without samples are skipped without parsing, as promtool does by remembering
 * the smallest timestamp beyond the current window.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Labels, LabelsBuilder } from '../storage/index.js';
import { Entry, OpenMetricsParser } from '../textparse/index.js';
import type { LabelSink } from '../textparse/index.js';
import { BlockWriter, openBlockSync } from '../tsdb/block/index.js';
import type { BlockMeta } from '../tsdb/block/index.js';
import { DEFAULT_BLOCK_DURATION, goDiv } from '../tsdb/chunkenc/index.js';
import { TabWriter, base2Bytes, goDuration, goUnixUTC } from './tsdb-format.js';

export interface BackfillOptions {
  humanReadable: boolean;
  quiet: boolean;
  /** --max-block-duration in ms (0: default 2h). */
  maxBlockDuration: number;
  /** Samples per appender commit (promtool: 5000). */
  maxSamplesInAppender: number;
  /** Where block listings go (stdout). Errors carry promtool's message chain. */
  out: (s: string) => void;
}

export function defaultBackfillOptions(): BackfillOptions {
  return { humanReadable: false, quiet: false, maxBlockDuration: 0, maxSamplesInAppender: 5000, out: (s) => process.stdout.write(s) };
}

/** An error with promtool's message chain ("block creation: process blocks: add sample: out of order sample"). */
export class BackfillError extends Error {
  readonly code = 'MM_ERR_BACKFILL';
}

/** `ExponentialBlockRanges(2h, 10, 3)` then the largest range <= max (Go `getCompatibleBlockDuration`). */
export function compatibleBlockDuration(maxBlockDuration: number): number {
  let d = DEFAULT_BLOCK_DURATION;
  if (maxBlockDuration > DEFAULT_BLOCK_DURATION) {
    const ranges: number[] = [];
    let r = DEFAULT_BLOCK_DURATION;
    for (let i = 0; i < 10; i++, r *= 3) ranges.push(r);
    let idx = ranges.length - 1;
    for (let i = 0; i < ranges.length; i++) {
      if ((ranges[i] as number) > maxBlockDuration) {
        idx = i - 1;
        break;
      }
    }
    d = ranges[idx] as number;
  }
  return d;
}

/** Collects a parser's labels as promtool's head sees them (empty values dropped, repeats reported). */
class CheckingSink implements LabelSink {
  readonly names: string[];
  readonly values: string[];
  constructor() {
    this.names = [];
    this.values = [];
  }
  reset(): void {
    this.names.length = 0;
    this.values.length = 0;
  }
  set(name: string, value: string): void {
    this.names.push(name);
    this.values.push(value);
  }
  /** The label set, or an error message as the 2.42 head appender words it. */
  build(b: LabelsBuilder): Labels | string {
    b.reset();
    const seen = new Set<string>();
    for (let i = 0; i < this.names.length; i++) {
      const v = this.values[i] as string;
      if (v === '') continue;
      const n = this.names[i] as string;
      if (seen.has(n)) return `label name "${n}" is not unique: invalid sample`;
      seen.add(n);
      b.set(n, v);
    }
    const l = b.labels();
    return l.length === 0 ? 'empty labelset: invalid sample' : l;
  }
}

/** Block listing as promtool's `printBlocks` (one tabwriter per call). */
export function formatBlocks(blocks: Array<{ meta: BlockMeta; size: number }>, header: boolean, humanReadable: boolean): string {
  const tw = new TabWriter(13, 2);
  if (header) tw.row('BLOCK ULID', 'MIN TIME', 'MAX TIME', 'DURATION', 'NUM SAMPLES', 'NUM CHUNKS', 'NUM SERIES', 'SIZE');
  for (const { meta, size } of blocks) {
    const t = (x: number) => (humanReadable ? goUnixUTC(x) : String(x));
    tw.row(
      meta.ulid,
      t(meta.minTime),
      t(meta.maxTime),
      goDuration(meta.maxTime - meta.minTime),
      String(meta.stats.numSamples ?? 0),
      String(meta.stats.numChunks ?? 0),
      String(meta.stats.numSeries ?? 0),
      humanReadable ? base2Bytes(size) : String(size),
    );
  }
  return tw.flush();
}

/** Runs the backfill of `inputPath` into `outputDir`. Returns the metas of the blocks written. */
export async function backfillOpenMetrics(inputPath: string, outputDir: string, opts: Partial<BackfillOptions> = {}): Promise<BlockMeta[]> {
  const o = { ...defaultBackfillOptions(), ...opts };
  const input = await readFile(inputPath);
  await mkdir(outputDir, { recursive: true });

  // Pass 1: time range.
  let mint = Infinity;
  let maxt = -Infinity;
  try {
    const p = new OpenMetricsParser(input);
    for (let e = p.next(); e !== Entry.EOF; e = p.next()) {
      if (e !== Entry.Series) continue;
      if (!p.hasTimestamp()) throw new BackfillError('getting min and max timestamp: expected timestamp for series got none');
      const ts = p.timestamp();
      if (ts > maxt) maxt = ts;
      if (ts < mint) mint = ts;
    }
  } catch (e) {
    if (e instanceof BackfillError) throw e;
    throw new BackfillError(`getting min and max timestamp: next: ${(e as Error).message}`, { cause: e });
  }
  if (maxt === -Infinity) maxt = 0;
  if (mint === Infinity) mint = 0;

  const blockDuration = compatibleBlockDuration(o.maxBlockDuration);
  mint = goDiv(mint, blockDuration) * blockDuration;

  const written: BlockMeta[] = [];
  let wroteHeader = false;
  let nextSampleTs = Infinity;
  const sink = new CheckingSink();
  const lb = new LabelsBuilder();
  // Raw series text → label set (or error message): parsing labels once per series, not per sample.
  const cache = new Map<string, Labels | string>();
  for (let t = mint; t <= maxt; t += blockDuration) {
    const tsUpper = t + blockDuration;
    if (nextSampleTs !== Infinity && nextSampleTs >= tsUpper) continue;
    nextSampleTs = Infinity;
    const w = new BlockWriter(outputDir, 2 * blockDuration);
    let app = w.appender();
    let samples = 0;
    const p = new OpenMetricsParser(input);
    try {
      for (let e = p.next(); e !== Entry.EOF; e = p.next()) {
        if (e !== Entry.Series) continue;
        const ts = p.timestamp();
        if (ts < t) continue;
        if (ts >= tsUpper) {
          if (ts < nextSampleTs) nextSampleTs = ts;
          continue;
        }
        const raw = p.series();
        const key = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
        let l = cache.get(key);
        if (l === undefined) {
          p.labels(sink);
          l = sink.build(lb);
          cache.set(key, l);
        }
        if (typeof l === 'string') throw new BackfillError(`block creation: process blocks: add sample: ${l}`);
        try {
          app.append(0, l, ts, p.value());
        } catch (err) {
          throw new BackfillError(`block creation: process blocks: add sample: ${(err as Error).message}`, { cause: err });
        }
        if (++samples < o.maxSamplesInAppender) continue;
        app.commitSync();
        app = w.appender();
        samples = 0;
      }
    } catch (e) {
      if (e instanceof BackfillError) throw e;
      throw new BackfillError(`block creation: process blocks: parse: ${(e as Error).message}`, { cause: e });
    }
    app.commitSync();
    let meta: BlockMeta | null;
    try {
      meta = await w.flush();
    } catch (e) {
      throw new BackfillError(`block creation: process blocks: flush: ${(e as Error).message}`, { cause: e });
    }
    if (meta === null) continue;
    written.push(meta);
    if (!o.quiet) {
      const b = openBlockSync(join(outputDir, meta.ulid));
      const size = b.size();
      await b.close();
      o.out(formatBlocks([{ meta, size }], !wroteHeader, o.humanReadable));
      wroteHeader = true;
    }
  }
  return written;
}
