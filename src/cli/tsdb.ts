/**
 * `mm-metrics tsdb …`: promtool 2.42's `tsdb` commands with the same arguments and
 * output formats, so outputs can be diffed against promtool's:
 *
 *   tsdb create-blocks-from openmetrics FILE [DIR]   (-r/--human-readable, -q/--quiet, --max-block-duration)
 *   tsdb list [DIR]                                  (-r/--human-readable)
 *   tsdb analyze [DIR] [BLOCK-ID]                    (--limit N, --extended)
 *   tsdb dump [DIR]                                  (--min-time, --max-time, --match)
 *
 * DIR defaults to `data/` as in promtool. `list` and `analyze` read persisted blocks
 * only (promtool's `DBReadOnly.Blocks()`); `dump` reads through a read-only Queryable:
 * the DB's `openReadOnly` (blocks + head replayed from the WAL) when src/tsdb/db.ts
 * provides it, otherwise the blocks alone.
 */
import type { Command } from 'commander';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Querier } from '../storage/index.js';
import { ValueType } from '../storage/index.js';
import { openBlockSync } from '../tsdb/block/index.js';
import type { Block } from '../tsdb/block/index.js';
import { utf8Length } from '../tsdb/index/index.js';
import { mergeQueriers } from '../tsdb/querier.js';
import { backfillOpenMetrics, formatBlocks } from './tsdb-backfill.js';
import { formatGoFloat, goDuration } from './tsdb-format.js';
import { parseMetricSelector } from './tsdb-selector.js';

/** A read-only view of a TSDB directory. */
export interface ReadOnlyTSDB {
  querier(mint: number, maxt: number): Querier;
  close(): Promise<void>;
}

/** Block directory names: a ULID (Crockford base32, first char <= 7), any case. */
const ULID_DIR = /^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$/;

/**
 * Opens every block under `dir` as promtool's `DBReadOnly.Blocks()` does: a block that
 * fails to open is an error unless a loadable block lists it as a parent. Sorted by
 * minTime.
 */
export function loadBlocks(dir: string): Block[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new Error(`open ${dir}: ${(e as Error).message}`, { cause: e });
  }
  const ok: Block[] = [];
  const bad = new Map<string, Error>();
  for (const n of names.sort()) {
    if (!ULID_DIR.test(n)) continue;
    const p = join(dir, n);
    if (!statSync(p).isDirectory()) continue;
    try {
      ok.push(openBlockSync(p));
    } catch (e) {
      bad.set(n.toUpperCase(), e as Error);
    }
  }
  for (const b of ok) for (const par of b.meta.compaction.parents ?? []) bad.delete(par.ulid);
  if (bad.size > 0) {
    for (const b of ok) void b.close();
    throw new Error([...bad.values()].map((e) => e.message).join('; '));
  }
  return ok.sort((a, b) => a.meta.minTime - b.meta.minTime);
}

/** Blocks-only read view: a merge of the queriers of the blocks overlapping the range. */
export function openBlocksReadOnly(dir: string): ReadOnlyTSDB {
  const blocks = loadBlocks(dir);
  return {
    querier(mint: number, maxt: number): Querier {
      return mergeQueriers(blocks.filter((b) => b.overlapsClosedInterval(mint, maxt)).map((b) => b.querier(mint, maxt)));
    },
    async close(): Promise<void> {
      for (const b of blocks) await b.close();
    },
  };
}

/** The DB's read-only open (head + WAL) if available, else blocks only. */
export async function openReadOnlyTSDB(dir: string): Promise<ReadOnlyTSDB> {
  const mod = '../tsdb/db.js';
  type DBModule = { openReadOnly?: (dir: string) => Promise<ReadOnlyTSDB> };
  let m: DBModule | null = null;
  try {
    m = (await import(mod)) as DBModule;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
  }
  const open = m?.openReadOnly;
  if (typeof open === 'function') return open(dir);
  return openBlocksReadOnly(dir);
}

/** `promtool tsdb list` output. */
export function listBlocks(dir: string, humanReadable: boolean): string {
  const blocks = loadBlocks(dir);
  try {
    return formatBlocks(
      blocks.map((b) => ({ meta: b.meta, size: b.size() })),
      true,
      humanReadable,
    );
  } finally {
    for (const b of blocks) void b.close();
  }
}

/** `promtool tsdb analyze` output; `extended` adds the chunk fullness histogram. */
export function analyzeBlock(dir: string, blockId: string, limit: number, extended = false): string {
  const blocks = loadBlocks(dir);
  try {
    const block = blockId !== '' ? blocks.find((b) => b.meta.ulid === blockId) : blocks[blocks.length - 1];
    if (block === undefined) throw new Error(`block ${blockId} not found`);
    const meta = block.meta;
    const ir = block.index();
    const L: string[] = [];
    L.push(`Block ID: ${meta.ulid}`);
    L.push(`Duration: ${goDuration(meta.maxTime - meta.minTime)}`);
    L.push(`Series: ${meta.stats.numSeries ?? 0}`);
    const names = ir.labelNames();
    L.push(`Label names: ${names.length}`);
    const print = (title: string, m: Map<string, number>) => {
      L.push('', title);
      // Go sorts with an unstable sort by metric, descending; ties come out in no fixed order.
      const e = [...m.entries()].sort((a, b) => b[1] - a[1]);
      for (let i = 0; i < e.length && i < limit; i++) L.push(`${e[i]![1]} ${e[i]![0]}`);
    };
    const range = meta.maxTime - meta.minTime;
    const labelsUncovered = new Map<string, number>();
    const pairsUncovered = new Map<string, number>();
    const pairsCount = new Map<string, number>();
    let entries = 0;
    for (const id of ir.allPostings()) {
      const s = ir.series(id);
      if (s.chunks.length === 0) continue;
      const uncovered = range - (s.chunks[s.chunks.length - 1]!.maxTime - s.chunks[0]!.minTime);
      const p = s.labels.pairs;
      for (let i = 0; i < p.length; i += 2) {
        const key = `${p[i]}=${p[i + 1]}`;
        labelsUncovered.set(p[i]!, (labelsUncovered.get(p[i]!) ?? 0) + uncovered);
        pairsUncovered.set(key, (pairsUncovered.get(key) ?? 0) + uncovered);
        pairsCount.set(key, (pairsCount.get(key) ?? 0) + 1);
        entries++;
      }
    }
    L.push(`Postings (unique label pairs): ${pairsUncovered.size}`);
    L.push(`Postings entries (total label pairs): ${entries}`);
    const per = (m: Map<string, number>) => new Map([...m].map(([k, v]) => [k, Math.trunc(v / range)]));
    print('Label pairs most involved in churning:', per(pairsUncovered));
    print('Label names most involved in churning:', per(labelsUncovered));
    print('Most common label pairs:', pairsCount);
    const cum = new Map<string, number>();
    const card = new Map<string, number>();
    for (const n of names) {
      const vs = ir.labelValues(n);
      let total = 0;
      for (const v of vs) total += utf8Length(v);
      cum.set(n, total);
      card.set(n, vs.length);
    }
    print('Label names with highest cumulative label value length:', cum);
    print('Highest cardinality labels:', card);
    const metric = new Map<string, number>();
    for (const v of ir.labelValues('__name__')) metric.set(v, ir.postings('__name__', v).length);
    print('Highest cardinality metric names:', metric);
    if (extended) {
      // Go analyzeCompaction: chunk fullness in tenths of 120 samples, integer percentages.
      const buckets = new Array<number>(10).fill(0);
      let total = 0;
      const cr = block.chunks();
      for (const id of ir.allPostings()) {
        for (const c of ir.series(id).chunks) {
          const n = Math.min(cr.chunk(c.ref).numSamples(), 120);
          buckets[Math.ceil((10 * n) / 120) - 1]!++;
          total++;
        }
      }
      L.push('', 'Compaction analysis:', 'Fullness: Amount of samples in chunks (100% is 120 samples)');
      for (let b = 0; b < 10; b++) L.push(`${String((b + 1) * 10).padStart(7)}%: ${'#'.repeat(Math.trunc((100 * buckets[b]!) / total))}`);
    }
    return L.join('\n') + '\n';
  } finally {
    for (const b of blocks) void b.close();
  }
}

/**
 * `promtool tsdb dump`: one line `labels value timestamp` per sample, `%g` values
 * (stale markers print as NaN, as in promtool). `write` receives ~64 KiB pieces and
 * may return a promise for backpressure.
 */
export async function dumpSamples(db: ReadOnlyTSDB, mint: number, maxt: number, match: string, write: (s: string) => void | Promise<void>): Promise<void> {
  const matchers = parseMetricSelector(match);
  const q = db.querier(mint, maxt);
  try {
    // promtool 2.42 prints series in label order, head data included: ask for sorted series.
    const ss = q.select(true, null, ...matchers);
    let buf = '';
    while (ss.next()) {
      const s = ss.at();
      const lbs = s.labels().toString() + ' ';
      const it = s.iterator(null);
      let vt: ValueType;
      while ((vt = it.next()) === ValueType.Float) {
        buf += lbs + formatGoFloat(it.atV()) + ' ' + it.atT() + '\n';
        if (buf.length > 65536) {
          await write(buf);
          buf = '';
        }
      }
      if (vt !== ValueType.None) throw new Error(`series ${s.labels().toString()}: histogram samples are not supported`);
      const err = it.err();
      if (err !== null) throw err;
    }
    if (buf !== '') await write(buf);
    const err = ss.err();
    if (err !== null) throw err;
    const ws = ss.warnings();
    if (ws.length > 0) throw new Error(ws.join('; '));
  } finally {
    q.close();
  }
}

/** stdout writer with backpressure. */
function stdoutWrite(s: string): Promise<void> | void {
  if (!process.stdout.write(s)) return new Promise((r) => process.stdout.once('drain', () => r()));
}

/** Go `time.ParseDuration` for the forms promtool flags take ("6h", "90m", "1h30m", "500ms"). */
export function parseGoDuration(s: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * (units[m[2] as string] as number);
    consumed += m[0].length;
  }
  if (consumed !== s.length || s.length === 0) throw new Error(`time: invalid duration "${s}"`);
  return Math.round(total);
}

function parseInt64(s: string, what: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new Error(`invalid ${what} ${JSON.stringify(s)}`);
  // Go's default flags are ±(2^63-1): keep them as unbounded.
  const n = Number(s);
  return n;
}

async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}

export function register(program: Command): void {
  const tsdb = program.command('tsdb').description('Run tsdb commands (promtool tsdb compatible).');

  const cbf = tsdb
    .command('create-blocks-from')
    .description('Import samples from input and produce TSDB blocks.')
    .option('-r, --human-readable', 'Print human readable values.', false)
    .option('-q, --quiet', 'Do not print created blocks.', false)
    .option('--max-block-duration <duration>', 'Maximum duration of created blocks (2h multiples: 2h, 6h, 18h, …).', '0');
  cbf
    .command('openmetrics')
    .description('Import samples from OpenMetrics input and produce TSDB blocks.')
    .argument('<input file>', 'OpenMetrics file to read samples from.')
    .argument('[output directory]', 'Output directory for generated blocks.', 'data/')
    .action(async (input: string, out: string) => {
      const o = cbf.opts() as { humanReadable: boolean; quiet: boolean; maxBlockDuration: string };
      await run(async () => {
        await backfillOpenMetrics(input, out, {
          humanReadable: o.humanReadable,
          quiet: o.quiet,
          maxBlockDuration: parseGoDuration(o.maxBlockDuration),
          out: (s) => void process.stdout.write(s),
        });
      });
    });

  tsdb
    .command('list')
    .description('List tsdb blocks.')
    .argument('[db path]', 'Database path (default is data/).', 'data/')
    .option('-r, --human-readable', 'Print human readable values.', false)
    .action(async (dir: string, o: { humanReadable: boolean }) => {
      await run(async () => {
        process.stdout.write(listBlocks(dir, o.humanReadable));
      });
    });

  tsdb
    .command('analyze')
    .description('Analyze churn, label pair cardinality.')
    .argument('[db path]', 'Database path (default is data/).', 'data/')
    .argument('[block id]', 'Block to analyze (default is the last block).', '')
    .option('--limit <n>', 'How many items to show in each list.', '20')
    .option('--extended', 'Run extended analysis.', false)
    .action(async (dir: string, id: string, o: { limit: string; extended: boolean }) => {
      await run(async () => {
        process.stdout.write(analyzeBlock(dir, id, Number(o.limit), o.extended));
      });
    });

  tsdb
    .command('dump')
    .description('Dump samples from a TSDB.')
    .argument('[db path]', 'Database path (default is data/).', 'data/')
    .option('--min-time <ms>', 'Minimum timestamp to dump.', '-9223372036854775808')
    .option('--max-time <ms>', 'Maximum timestamp to dump.', '9223372036854775807')
    .option('--match <selector>', 'Series selector.', "{__name__=~'(?s:.*)'}")
    .action(async (dir: string, o: { minTime: string; maxTime: string; match: string }) => {
      await run(async () => {
        const db = await openReadOnlyTSDB(dir);
        try {
          await dumpSamples(db, parseInt64(o.minTime, 'min-time'), parseInt64(o.maxTime, 'max-time'), o.match, stdoutWrite);
        } finally {
          await db.close();
        }
      });
    });
}


