/**
 * `mm-metrics scrape URL`: scrape a target once and print exactly what would be
 * stored — the exposed samples after honor_labels and target labels, then the
 * synthetic series (up, scrape_duration_seconds, …) — with the same code path as
 * the service's scrape loop. On a failed scrape the output still shows up=0 and the
 * other report series, the error goes to stderr and the exit code is 1.
 */
import type { Command } from 'commander';
import { Labels, type Appendable, type Appender, type SeriesRef } from '../storage/index.js';
import { newParser } from '../textparse/index.js';
import { ScrapeLoop, parseDuration, scrapeConfigWith, targetFromURL } from '../scrape/index.js';

/** Collects committed samples in append order (the CLI's whole "storage"). */
class CollectingAppendable implements Appendable {
  readonly lsets: Labels[] = [];
  readonly ts: number[] = [];
  readonly vs: number[] = [];
  readonly stale: boolean[] = [];
  private nextRef = 1;
  private readonly refs = new Map<string, number>();

  appender(): Appender {
    const pending = { lsets: [] as Labels[], ts: [] as number[], vs: [] as number[], stale: [] as boolean[] };
    const add = (lset: Labels, t: number, v: number, stale: boolean): SeriesRef => {
      pending.lsets.push(lset);
      pending.ts.push(t);
      pending.vs.push(v);
      pending.stale.push(stale);
      const k = lset.key();
      let r = this.refs.get(k);
      if (r === undefined) this.refs.set(k, (r = this.nextRef++));
      return r;
    };
    return {
      append: (_ref, lset, t, v) => add(lset, t, v, false),
      appendStale: (_ref, lset, t) => add(lset, t, NaN, true),
      commit: async () => {
        this.lsets.push(...pending.lsets);
        this.ts.push(...pending.ts);
        this.vs.push(...pending.vs);
        this.stale.push(...pending.stale);
      },
      rollback: async () => {},
    };
  }
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function jsonValue(v: number): number | string {
  return Number.isFinite(v) ? v : formatValue(v);
}

interface ScrapeCliOptions {
  format: string;
  job: string;
  timeout: string;
  honorLabels?: boolean;
  sampleLimit?: string;
  bodySizeLimit?: string;
}

export function register(program: Command): void {
  program
    .command('scrape')
    .description('scrape a target once and print what would be stored, including the synthetic series')
    .argument('<url>', 'target URL, e.g. http://mattermost:8067/metrics')
    .option('--format <format>', 'text | json', 'text')
    .option('--job <name>', 'job label', 'scrape')
    .option('--timeout <duration>', 'scrape timeout (Prometheus duration)', '10s')
    .option('--honor-labels', 'exposed labels win over target labels')
    .option('--sample-limit <n>', 'fail the scrape above this many samples (0 = none)')
    .option('--body-size-limit <bytes>', 'fail the scrape when the body reaches this size (0 = none)')
    .action(async (url: string, o: ScrapeCliOptions) => {
      process.exitCode = await runScrape(url, o, process.stdout, process.stderr);
    });
}

/** Runs one scrape and writes the result; returns the exit code. Exported for tests. */
export async function runScrape(url: string, o: ScrapeCliOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  if (o.format !== 'text' && o.format !== 'json') {
    err.write(`error: --format must be text or json, not ${JSON.stringify(o.format)}\n`);
    return 2;
  }
  let loop: ScrapeLoop;
  const store = new CollectingAppendable();
  try {
    const timeout = parseDuration(o.timeout);
    const intOpt = (s: string | undefined, name: string): number => {
      if (s === undefined) return 0;
      if (!/^\d+$/.test(s)) throw new Error(`--${name} must be a non-negative integer, not ${JSON.stringify(s)}`);
      return Number(s);
    };
    const cfg = scrapeConfigWith(o.job, {
      scrapeInterval: Math.max(timeout, 1),
      scrapeTimeout: timeout,
      honorLabels: o.honorLabels === true,
      sampleLimit: intOpt(o.sampleLimit, 'sample-limit'),
      bodySizeLimit: intOpt(o.bodySizeLimit, 'body-size-limit'),
    });
    loop = new ScrapeLoop(targetFromURL(cfg, url), store, { newParser });
  } catch (e) {
    err.write(`error: ${(e as Error).message}\n`);
    return 2;
  }
  await loop.scrapeAndReport(Date.now());
  await loop.stop();
  const lines: string[] = [];
  for (let i = 0; i < store.lsets.length; i++) {
    const lset = store.lsets[i]!;
    const v = store.vs[i]!;
    const t = store.ts[i]!;
    if (o.format === 'json') {
      lines.push(JSON.stringify({ labels: lset.toObject(), value: store.stale[i] ? 'StaleNaN' : jsonValue(v), timestamp: t }));
    } else {
      lines.push(`${lset.toString()} ${store.stale[i] ? 'StaleNaN' : formatValue(v)} ${t}`);
    }
  }
  out.write(lines.join('\n') + (lines.length > 0 ? '\n' : ''));
  const st = loop.status();
  if (st.health !== 'up') {
    err.write(`error: scrape of ${st.scrapeUrl} failed: ${st.lastError}\n`);
    return 1;
  }
  return 0;
}
