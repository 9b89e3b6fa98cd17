/**
 * Label sets.
 *
 * A `Labels` is an immutable, name-sorted list of (name, value) pairs held in one
 * flat string array `[n0, v0, n1, v1, …]`. One array per label set (no object per
 * pair) keeps memory low for head series and is cheap to compare.
 *
 * Invariants (enforced by the builder and `fromPairs`, assumed everywhere else):
 *  - names are sorted by byte order (UTF-16 code-unit order equals byte order for
 *    the ASCII names Prometheus allows, see `isValidLabelName`);
 *  - no two pairs share a name; no pair has an empty value (an empty value means
 *    "label absent", as in Prometheus).
 */
export class Labels {
  /** Flat `[name, value, …]`; never mutated after construction. */
  readonly pairs: readonly string[];

  private constructor(pairs: readonly string[]) {
    this.pairs = pairs;
  }

  /** The empty label set (shared). */
  static readonly EMPTY: Labels = new Labels([]);

  /**
   * Trusts that `flat` is already sorted, deduplicated and free of empty values.
   * Used by decoders that read label sets Prometheus wrote sorted (index, WAL).
   */
  static fromSortedFlat(flat: readonly string[]): Labels {
    return flat.length === 0 ? Labels.EMPTY : new Labels(flat);
  }

  /** Builds from an object; empty values are dropped; sorts. */
  static fromObject(obj: Readonly<Record<string, string>>): Labels {
    const b = new LabelsBuilder();
    for (const k of Object.keys(obj)) b.set(k, obj[k] as string);
    return b.labels();
  }

  /** Builds from `[name, value, …]` in any order; later duplicates win; empty values dropped. */
  static fromPairs(...flat: string[]): Labels {
    const b = new LabelsBuilder();
    for (let i = 0; i + 1 < flat.length; i += 2) b.set(flat[i] as string, flat[i + 1] as string);
    return b.labels();
  }

  /** Number of pairs. */
  get length(): number {
    return this.pairs.length >>> 1;
  }

  name(i: number): string {
    return this.pairs[2 * i] as string;
  }

  value(i: number): string {
    return this.pairs[2 * i + 1] as string;
  }

  /** The value of `name`, or `''` when absent (Prometheus semantics). */
  get(name: string): string {
    const p = this.pairs;
    // Label sets are short (typically < 12 pairs): linear scan beats binary search.
    for (let i = 0; i < p.length; i += 2) {
      if (p[i] === name) return p[i + 1] as string;
    }
    return '';
  }

  has(name: string): boolean {
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) if (p[i] === name) return true;
    return false;
  }

  /** Metric name (`__name__`) or `''`. */
  metricName(): string {
    return this.get('__name__');
  }

  /**
   * A string that is equal for equal label sets and different otherwise; used as a
   * Map key. The separator 0xFF cannot occur in valid UTF-8, as Prometheus's
   * `labels.seps` relies on too.
   */
  key(): string {
    return this.pairs.join('\xff');
  }

  equals(o: Labels): boolean {
    if (this === o) return true;
    const a = this.pairs;
    const b = o.pairs;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** Prometheus's `labels.Compare`: pairwise by name then value, then by length. */
  compare(o: Labels): number {
    return compareLabels(this, o);
  }

  toObject(): Record<string, string> {
    const out: Record<string, string> = {};
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) out[p[i] as string] = p[i + 1] as string;
    return out;
  }

  /** `{a="1", b="2"}` exactly as Prometheus's `Labels.String()` (Go %q quoting of values). */
  toString(): string {
    const p = this.pairs;
    let s = '{';
    for (let i = 0; i < p.length; i += 2) {
      if (i > 0) s += ', ';
      s += (p[i] as string) + '=' + goQuote(p[i + 1] as string);
    }
    return s + '}';
  }

  /** Returns a builder seeded with this set. */
  builder(): LabelsBuilder {
    const b = new LabelsBuilder();
    b.reset(this);
    return b;
  }
}

/**
 * UTF-8 byte-order comparison, Prometheus's order for label names and values. JS's `<`
 * compares UTF-16 code units, which disagrees with UTF-8 only where a surrogate pair
 * (code point ≥ U+10000) meets a code unit in U+E000–U+FFFF; that case is remapped.
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates sort after U+E000–U+FFFF in UTF-8: move them above, the others below.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length < 0 ? -1 : 1;
}

export function compareLabels(a: Labels, b: Labels): number {
  const x = a.pairs;
  const y = b.pairs;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i += 2) {
    const cn = compareStrings(x[i] as string, y[i] as string);
    if (cn !== 0) return cn;
    const cv = compareStrings(x[i + 1] as string, y[i + 1] as string);
    if (cv !== 0) return cv;
  }
  return x.length - y.length;
}

/**
 * Mutable builder. `set` with an empty value deletes. `labels()` returns a new sorted
 * immutable set; the builder can be reused after `reset()`.
 */
export class LabelsBuilder {
  private names: string[] = [];
  private values: string[] = [];

  reset(base?: Labels): this {
    this.names.length = 0;
    this.values.length = 0;
    if (base) {
      const p = base.pairs;
      for (let i = 0; i < p.length; i += 2) {
        this.names.push(p[i] as string);
        this.values.push(p[i + 1] as string);
      }
    }
    return this;
  }

  set(name: string, value: string): this {
    const i = this.names.indexOf(name);
    if (value === '') {
      if (i >= 0) {
        this.names.splice(i, 1);
        this.values.splice(i, 1);
      }
      return this;
    }
    if (i >= 0) this.values[i] = value;
    else {
      this.names.push(name);
      this.values.push(value);
    }
    return this;
  }

  del(name: string): this {
    return this.set(name, '');
  }

  get(name: string): string {
    const i = this.names.indexOf(name);
    return i >= 0 ? (this.values[i] as string) : '';
  }

  labels(): Labels {
    const n = this.names.length;
    if (n === 0) return Labels.EMPTY;
    const idx = new Array<number>(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    const names = this.names;
    idx.sort((a, b) => compareStrings(names[a] as string, names[b] as string));
    const flat = new Array<string>(2 * n);
    for (let i = 0; i < n; i++) {
      const j = idx[i] as number;
      flat[2 * i] = names[j] as string;
      flat[2 * i + 1] = this.values[j] as string;
    }
    return Labels.fromSortedFlat(flat);
  }
}

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Prometheus `model.LabelName.IsValid` (legacy, pre-UTF-8 rules used by 2.42). */
export function isValidLabelName(s: string): boolean {
  return LABEL_NAME_RE.test(s);
}

/** Prometheus `model.IsValidMetricName`. */
export function isValidMetricName(s: string): boolean {
  return METRIC_NAME_RE.test(s);
}

/** Go `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const GO_PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Go `strconv.Quote` (as `Labels.String()` uses it): non-printable runes are escaped. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd'; // lone surrogate: not a valid rune
    else if (c > 0x7f && GO_PRINTABLE.test(ch)) out += ch;
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\v') out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c < 0x10000) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += '\\U' + c.toString(16).padStart(8, '0');
  }
  return out + '"';
}
