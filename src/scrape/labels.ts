/**
 * Per-series label processing on a scrape-cache miss (Prometheus scrape.go
 * `mutateSampleLabels`, `resolveConflictingExposedLabels`, `verifyLabelLimits`,
 * `Labels.IsValid`). Runs once per new series text, never on the cached path.
 */
import { isUtf8 } from 'node:buffer';
import { Labels, LabelsBuilder, goQuote, isValidLabelName, isValidMetricName } from '../storage/index.js';
import type { LabelSink } from '../textparse/parser.js';
import { ScrapeError, ScrapeErrorCode } from './errors.js';

/**
 * Collects the exposed labels of one series exactly as written, empty values
 * included: Prometheus's `p.Metric` keeps `foo=""`, and both `honor_labels` and the
 * staleness hash see it. Sorted by name on `sort()`.
 */
export class ExposedLabels implements LabelSink {
  names: string[];
  values: string[];
  n: number;

  constructor() {
    this.names = [];
    this.values = [];
    this.n = 0;
  }

  reset(): void {
    this.n = 0;
  }

  set(name: string, value: string): void {
    this.names[this.n] = name;
    this.values[this.n] = value;
    this.n++;
  }

  /** Insertion sort by name (label sets are short) keeping the value beside its name. */
  sort(): void {
    const ns = this.names;
    const vs = this.values;
    for (let i = 1; i < this.n; i++) {
      const kn = ns[i]!;
      const kv = vs[i]!;
      let j = i - 1;
      while (j >= 0 && ns[j]! > kn) {
        ns[j + 1] = ns[j]!;
        vs[j + 1] = vs[j]!;
        j--;
      }
      ns[j + 1] = kn;
      vs[j + 1] = kv;
    }
  }

  /** Whether `name` is present, even with an empty value. */
  has(name: string): boolean {
    for (let i = 0; i < this.n; i++) if (this.names[i] === name) return true;
    return false;
  }

  get(name: string): string {
    for (let i = 0; i < this.n; i++) if (this.names[i] === name) return this.values[i]!;
    return '';
  }

  /** Whether some pair named `name` has an empty value (Go `labels.Builder` then drops every pair of that name). */
  hasEmpty(name: string): boolean {
    for (let i = 0; i < this.n; i++) if (this.values[i] === '' && this.names[i] === name) return true;
    return false;
  }

    /**
   * Adds `name=""` for every label written with an empty value in the raw series
   * bytes `b[start, end)` that the parser did not report. Prometheus's `p.Metric`
   * keeps such pairs, and they matter: with honor_labels an exposed `instance=""`
   * suppresses the target's instance, and renames skip names taken by them. Our
   * parser leaves empty values out (they never reach storage), so they are recovered
   * here, on a cache miss only, and only when the text contains `""` at all.
   */
  addEmptyFromRaw(b: Uint8Array, start: number, end: number): void {
    let q = -1;
    for (let i = start; i + 1 < end; i++) {
      if (b[i] === QUOTE && b[i + 1] === QUOTE) {
        q = i;
        break;
      }
    }
    if (q < 0) return;
    let i = start;
    while (i < end && b[i] !== LBRACE) i++;
    i++;
    while (i < end) {
      while (i < end && (b[i] === SP || b[i] === TAB || b[i] === COMMA)) i++;
      if (i >= end || b[i] === RBRACE) return;
      const ns = i;
      while (i < end && isNameByte(b[i]!)) i++;
      const ne = i;
      if (ne === ns) return;
      while (i < end && (b[i] === SP || b[i] === TAB)) i++;
      if (b[i] !== EQ) return;
      i++;
      while (i < end && (b[i] === SP || b[i] === TAB)) i++;
      if (b[i] !== QUOTE) return;
      i++;
      const vs = i;
      while (i < end && b[i] !== QUOTE) i += b[i] === BACKSLASH ? 2 : 1;
      if (i >= end) return;
      if (i === vs) {
        const name = String.fromCharCode(...b.subarray(ns, ne));
        if (!this.has(name)) this.set(name, '');
      }
      i++;
    }
  }

  /** `{a="1", b=""}` for error messages. */
  toString(): string {
    const parts: string[] = [];
    for (let i = 0; i < this.n; i++) parts.push(`${this.names[i]}=${JSON.stringify(this.values[i])}`);
    return '{' + parts.join(', ') + '}';
  }
}

const QUOTE = 0x22;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const EQ = 0x3d;
const SP = 0x20;
const TAB = 0x09;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;

function isNameByte(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

const EXPORTED_PREFIX = 'exported_';

/**
 * The final labels of one series before they become a `Labels`: sorted by name,
 * and possibly still holding a repeated name, which only the head appender rejects
 * in Prometheus (`label name "a" is not unique`), after the sample limit and the
 * out-of-bounds checks. One instance reused per target (cache misses only).
 */
export class SampleLabels {
  names: string[];
  values: string[];
  n: number;
  /** First name that occurs twice, or ''. */
  dup: string;

  constructor() {
    this.names = [];
    this.values = [];
    this.n = 0;
    this.dup = '';
  }

  reset(): void {
    this.n = 0;
    this.dup = '';
  }

  push(name: string, value: string): void {
    this.names[this.n] = name;
    this.values[this.n] = value;
    this.n++;
  }

  has(name: string): boolean {
    for (let i = 0; i < this.n; i++) if (this.names[i] === name) return true;
    return false;
  }

  /** Stable insertion sort by name, then records the first repeated name. */
  finish(): void {
    const ns = this.names;
    const vs = this.values;
    for (let i = 1; i < this.n; i++) {
      const kn = ns[i]!;
      const kv = vs[i]!;
      let j = i - 1;
      while (j >= 0 && ns[j]! > kn) {
        ns[j + 1] = ns[j]!;
        vs[j + 1] = vs[j]!;
        j--;
      }
      ns[j + 1] = kn;
      vs[j + 1] = kv;
    }
    this.dup = '';
    for (let i = 1; i < this.n; i++) {
      if (ns[i] === ns[i - 1]) {
        this.dup = ns[i]!;
        break;
      }
    }
  }

  /** The label set (only valid when `dup` is ''). */
  toLabels(): Labels {
    const flat = new Array<string>(2 * this.n);
    for (let i = 0; i < this.n; i++) {
      flat[2 * i] = this.names[i]!;
      flat[2 * i + 1] = this.values[i]!;
    }
    return Labels.fromSortedFlat(flat);
  }

  /** Prometheus `Labels.String()`: `{a="1", b="2"}`. */
  toString(): string {
    let s = '{';
    for (let i = 0; i < this.n; i++) s += (i > 0 ? ', ' : '') + this.names[i]! + '=' + goQuote(this.values[i]!);
    return s + '}';
  }
}

/**
 * Merges target labels into the exposed set (`mutateSampleLabels` through a Go
 * `labels.Builder`, whose rules decide what repeated names become):
 *  - every name that has an empty value anywhere in the exposed set is dropped with
 *    all its pairs (`foo{a="",a="1"}` → `foo{}`);
 *  - a name the merge sets (a target label) replaces all exposed pairs of that name;
 *  - other repeated names stay, and fail at append (`SampleLabels.dup`).
 * honorLabels: exposed labels win; a target label is set only when the exposed set
 * lacks that name (a name with an empty exposed value counts as present).
 * Otherwise target labels win; a non-empty exposed value of the same name (the first
 * in sort order) moves to `exported_<name>` (prefix repeated while taken), conflicts
 * handled in order of increasing name length.
 */
export function mutateSampleLabels(exposed: ExposedLabels, targetLabels: Labels, honorLabels: boolean, out: SampleLabels): void {
  out.reset();
  // Builder `add` list: target labels and renamed conflicts (all values non-empty).
  const addN: string[] = [];
  const addV: string[] = [];
  if (honorLabels) {
    for (let i = 0; i < targetLabels.length; i++) {
      const n = targetLabels.name(i);
      if (!exposed.has(n)) {
        addN.push(n);
        addV.push(targetLabels.value(i));
      }
    }
  } else {
    let conflicts: Array<[string, string]> | null = null;
    for (let i = 0; i < targetLabels.length; i++) {
      const n = targetLabels.name(i);
      const existing = exposed.get(n);
      if (existing !== '') (conflicts ??= []).push([n, existing]);
      addN.push(n);
      addV.push(targetLabels.value(i));
    }
    if (conflicts !== null) {
      // Array.prototype.sort is stable, as Go's sort.SliceStable.
      conflicts.sort((x, y) => x[0].length - y[0].length);
      for (let i = 0; i < conflicts.length; i++) {
        let newName = conflicts[i]![0];
        for (;;) {
          newName = EXPORTED_PREFIX + newName;
          let taken = exposed.has(newName) || targetLabels.has(newName);
          for (let j = 0; j < i && !taken; j++) if (conflicts[j]![0] === newName) taken = true;
          if (!taken) break;
        }
        conflicts[i]![0] = newName;
      }
      for (const [n, v] of conflicts) {
        addN.push(n);
        addV.push(v);
      }
    }
  }
  for (let i = 0; i < exposed.n; i++) {
    const n = exposed.names[i]!;
    if (addN.includes(n) || exposed.hasEmpty(n)) continue;
    out.push(n, exposed.values[i]!);
  }
  for (let i = 0; i < addN.length; i++) out.push(addN[i]!, addV[i]!);
  out.finish();
}

/** Report (synthetic) series labels: `__name__` plus target labels (`mutateReportSampleLabels`). */
export function reportLabels(name: string, targetLabels: Labels): Labels {
  const b = new LabelsBuilder();
  b.set('__name__', name);
  for (let i = 0; i < targetLabels.length; i++) b.set(targetLabels.name(i), targetLabels.value(i));
  return b.labels();
}

/** Label limits of a scrape config (0 = none). */
export interface LabelLimits {
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
}

/**
 * Checks a final label set before its first append; returns a `ScrapeError` that
 * fails the whole scrape, or null. `raw` is the series as exposed: invalid UTF-8 can
 * only be seen on the bytes (decoded JS strings would carry U+FFFD instead). A
 * repeated name is not an error here: Prometheus's head appender rejects it, after
 * the sample limit and out-of-bounds checks (see `ExpositionAppender.append`).
 */
export function checkSeries(lset: SampleLabels, raw: Uint8Array, limits: LabelLimits): ScrapeError | null {
  // `Labels.Has` / `Get` (the first pair of a repeated name) / `IsValid` (every pair).
  let name = '';
  let hasName = false;
  let valid = isUtf8(raw);
  for (let i = 0; i < lset.n; i++) {
    const n = lset.names[i]!;
    if (n === '__name__') {
      if (!hasName) name = lset.values[i]!;
      hasName = true;
      if (!isValidMetricName(lset.values[i]!)) valid = false;
    }
    if (valid && !isValidLabelName(n)) valid = false;
  }
  if (!hasName) return new ScrapeError(ScrapeErrorCode.NoMetricName, 'missing metric name (__name__ label)');
  if (!valid) return new ScrapeError(ScrapeErrorCode.InvalidLabels, `invalid metric name or label names: ${truncate(lset.toString(), 200)}`);
  if (limits.labelLimit > 0 && lset.n > limits.labelLimit) {
    return new ScrapeError(
      ScrapeErrorCode.LabelLimit,
      `label_limit exceeded (metric: ${truncate(name, 50)}, number of labels: ${lset.n}, limit: ${limits.labelLimit})`,
    );
  }
  if (limits.labelNameLengthLimit === 0 && limits.labelValueLengthLimit === 0) return null;
  for (let i = 0; i < lset.n; i++) {
    const n = lset.names[i]!;
    const v = lset.values[i]!;
    if (limits.labelNameLengthLimit > 0 && n.length > limits.labelNameLengthLimit) {
      return new ScrapeError(
        ScrapeErrorCode.LabelLimit,
        `label_name_length_limit exceeded (metric: ${truncate(name, 50)}, label name: ${truncate(n, 50)}, length: ${n.length}, limit: ${limits.labelNameLengthLimit})`,
      );
    }
    if (limits.labelValueLengthLimit > 0) {
      const vl = Buffer.byteLength(v, 'utf8');
      if (vl > limits.labelValueLengthLimit) {
        return new ScrapeError(
          ScrapeErrorCode.LabelLimit,
          `label_value_length_limit exceeded (metric: ${truncate(name, 50)}, label name: ${truncate(n, 50)}, value: ${JSON.stringify(truncate(v, 50))}, length: ${vl}, limit: ${limits.labelValueLengthLimit})`,
        );
      }
    }
  }
  return null;
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n);
}
