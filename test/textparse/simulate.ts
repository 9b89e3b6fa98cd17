/**
 * What one Prometheus 2.42 scrape makes of a body, computed with our parser plus the
 * few scrape-loop/appender rules that decide acceptance (honor_labels, no target
 * label conflicts, no relabeling): the test-side model that the oracle tests compare
 * against a real Prometheus, and that the table tests assert on.
 *
 *  - parse errors fail the scrape;
 *  - label pairs whose name has an empty value anywhere are dropped (labels.Builder);
 *  - missing `__name__`, an invalid metric name → scrape fails (scrapeLoop.append);
 *  - a repeated label name → scrape fails (head appender);
 *  - the same series twice: with scrape timestamps the first sample is kept; with
 *    explicit timestamps the newest (first on ties).
 */
import { LabelsBuilder } from '../../src/storage/labels.js';
import { Entry, ParseError, newParser, type LabelSink } from '../../src/textparse/index.js';

export interface SimSample {
  labels: Record<string, string>;
  value: number;
  /** explicit timestamp (ms), or null for the scrape timestamp */
  t: number | null;
  /** series seen with and without explicit timestamps: value not comparable */
  mixed: boolean;
}

export interface SimExemplar {
  seriesLabels: Record<string, string>;
  labels: Record<string, string>;
  value: number;
  t: number | null;
}

export interface SimResult {
  ok: boolean;
  /** 'parser' | 'scrape' | '' */
  layer: string;
  error: string;
  samples: SimSample[];
  metadata: Record<string, { type: string; help: string; unit: string }>;
  exemplars: SimExemplar[];
}

class Pairs implements LabelSink {
  names: string[] = [];
  values: string[] = [];
  reset(): void {
    this.names = [];
    this.values = [];
  }
  set(name: string, value: string): void {
    this.names.push(name);
    this.values.push(value);
  }
}

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export function simulateScrape(body: Uint8Array | string, contentType: string | null): SimResult {
  const bytes = typeof body === 'string' ? new Uint8Array(Buffer.from(body, 'utf8')) : body;
  const res: SimResult = { ok: true, layer: '', error: '', samples: [], metadata: {}, exemplars: [] };
  const p = newParser(bytes, contentType);
  const pairs = new Pairs();
  const bySeries = new Map<string, SimSample>();
  const meta = (name: string) => (res.metadata[name] ??= { type: 'unknown', help: '', unit: '' });
  const fail = (layer: string, error: string): SimResult => {
    res.ok = false;
    res.layer = layer;
    res.error = error;
    res.samples = [];
    res.exemplars = [];
    return res;
  };
  for (;;) {
    let e: Entry;
    try {
      e = p.next();
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      return fail('parser', err.message);
    }
    if (e === Entry.EOF) break;
    if (e === Entry.Type) {
      const t = p.type();
      meta(t.name).type = t.type;
      continue;
    }
    if (e === Entry.Help) {
      const h = p.help();
      meta(h.name).help = h.text;
      continue;
    }
    if (e === Entry.Unit) {
      const u = p.unit();
      meta(u.name).unit = u.unit;
      continue;
    }
    if (e !== Entry.Series) continue;
    p.labels(pairs);
    const emptied = new Set<string>();
    pairs.values.forEach((v, i) => v === '' && emptied.add(pairs.names[i]!));
    const labels: Record<string, string> = {};
    const seen = new Set<string>();
    let dup = '';
    pairs.names.forEach((n, i) => {
      if (emptied.has(n)) return;
      if (seen.has(n) && dup === '') dup = n;
      seen.add(n);
      labels[n] = pairs.values[i]!;
    });
    const name = labels['__name__'];
    if (name === undefined) return fail('scrape', 'missing metric name (__name__ label)');
    if (!METRIC_NAME_RE.test(name)) return fail('scrape', `invalid metric name or label names: ${JSON.stringify(name)}`);
    if (dup !== '') return fail('scrape', `label name "${dup}" is not unique: invalid sample`);
    const sorted = Object.keys(labels).sort();
    const obj: Record<string, string> = {};
    for (const k of sorted) obj[k] = labels[k]!;
    const key = JSON.stringify(obj);
    const t = p.hasTimestamp() ? p.timestamp() : null;
    const prev = bySeries.get(key);
    if (prev === undefined) bySeries.set(key, { labels: obj, value: p.value(), t, mixed: false });
    else if ((prev.t === null) !== (t === null)) prev.mixed = true;
    else if (t !== null && prev.t !== null && t > prev.t) {
      prev.t = t;
      prev.value = p.value();
    }
    const ex = p.exemplar();
    if (ex !== null) {
      const el: Record<string, string> = {};
      for (let i = 0; i < ex.labels.length; i += 2) el[ex.labels[i]!] = ex.labels[i + 1]!;
      res.exemplars.push({ seriesLabels: obj, labels: el, value: ex.value, t: ex.hasTimestamp ? ex.timestamp : t });
    }
  }
  res.samples = [...bySeries.values()];
  return res;
}

/** Prometheus's JSON rendering of a sample value back to a number. */
export function promValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  return Number(s);
}

/** Stable key of a label object (keys sorted). */
export function labelKey(l: Record<string, string>): string {
  const o: Record<string, string> = {};
  for (const k of Object.keys(l).sort()) o[k] = l[k]!;
  return JSON.stringify(o);
}

/** A LabelsBuilder-backed helper for tests that want the storage Labels type. */
export function labelsOf(p: { labels(s: LabelSink): void }): Record<string, string> {
  const b = new LabelsBuilder();
  p.labels(b);
  return b.labels().toObject();
}
