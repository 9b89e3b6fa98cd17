/**
 * OpenMetrics 1.0 text, parsed exactly as Prometheus 2.42 does
 * (model/textparse/openmetricslex.l + openmetricsparse.go), over the raw body.
 *
 * Much stricter than 0.0.4 on layout, looser than the OpenMetrics spec on meaning:
 *  - Exactly one SP wherever the ABNF has SP; no TAB, no blank lines, no other `#`
 *    lines than `# HELP`, `# TYPE`, `# UNIT`, `# EOF`.
 *  - `# EOF` is required; it may be followed by one LF and nothing else.
 *  - Labels: `{` [name="value" {, name="value"}] `}`, no trailing comma, no raw LF
 *    inside values. Values are unescaped (`\\`, `\"`, `\n`) when read.
 *  - Timestamps are float seconds; stored as `int64(ts * 1000)` (float multiply,
 *    truncation toward zero; NaN/±Inf rejected).
 *  - Exemplars (` # {labels} value [timestamp]`) are allowed only when the sample
 *    name ends in `_total` or `_bucket`, else the whole body is rejected. Their label
 *    values are kept raw (not unescaped), as 2.42 stores them.
 *  - Nothing about families is checked: suffixes, ordering, repeated metadata,
 *    `_created` (an ordinary sample), info/stateset values all pass through.
 *  - The same NUL-skipping quirks as the 0.0.4 lexer apply in label values, HELP/
 *    TYPE/UNIT text and right after `# ` (see promtext.ts); `# EOF` followed by
 *    NUL bytes is therefore accepted.
 *
 * Single-threaded; one parser per body; returned byte views alias the body.
 */
import { ParseError } from './errors.js';
import { CLS, C_LCHAR, C_LSTART, C_MCHAR, C_MSTART, C_OVAL, describeAt, errorAt, quote, unescapeToString } from './lex.js';
import { NUM_OK, goFloatToInt64, numStatus, numStatusText, parseGoFloat } from './numbers.js';
import { Entry, MetricType, type Exemplar, type LabelSink, type Parser } from './parser.js';
import { setLabels, type LabelOffsets } from './series-labels.js';
import { isValidUTF8, nativeView } from './utf8.js';

const SP = 0x20;
const LF = 0x0a;
const F_ESC = 1;
const F_HIGH = 2;

const TYPE_WORDS: ReadonlyArray<readonly [string, MetricType]> = [
  ['counter', MetricType.Counter],
  ['gauge', MetricType.Gauge],
  ['histogram', MetricType.Histogram],
  ['gaugehistogram', MetricType.GaugeHistogram],
  ['summary', MetricType.Summary],
  ['info', MetricType.Info],
  ['stateset', MetricType.Stateset],
  ['unknown', MetricType.Unknown],
];

const META_HELP = 0;
const META_TYPE = 1;
const META_UNIT = 2;
const META_WORDS = ['HELP', 'TYPE', 'UNIT'];

/** Pull parser for OpenMetrics 1.0 text. See the file comment for the rules. */
export class OpenMetricsParser implements Parser, LabelOffsets {
  readonly b: Uint8Array;
  private readonly n: number;
  private readonly dec: ReturnType<typeof nativeView>;
  private i: number;
  start: number;
  nameEnd: number;
  private sEnd: number;
  nLabels: number;
  offs: Int32Array;
  flags: Uint8Array;
  private val: number;
  private ts: number;
  private hasTs: boolean;
  /** exemplar of the current sample: label offsets (4 per label), value, timestamp */
  private exN: number;
  private exOffs: Int32Array;
  private exVal: number;
  private exTs: number;
  private exHasTs: boolean;
  private hasEx: boolean;
  private metaStart: number;
  private metaEnd: number;
  private textStart: number;
  private textEnd: number;
  private mtype: MetricType;
  /** family of the last `# TYPE` line, for `createdTimestamp()` */
  private famStart: number;
  private famEnd: number;
  private famType: MetricType;
  private failed: ParseError | null;
  private done: boolean;

  constructor(body: Uint8Array) {
    this.b = body;
    this.n = body.length;
    this.dec = nativeView(body);
    this.i = 0;
    this.start = 0;
    this.nameEnd = 0;
    this.sEnd = 0;
    this.nLabels = 0;
    this.offs = new Int32Array(64);
    this.flags = new Uint8Array(16);
    this.val = 0;
    this.ts = 0;
    this.hasTs = false;
    this.exN = 0;
    this.exOffs = new Int32Array(16);
    this.exVal = 0;
    this.exTs = 0;
    this.exHasTs = false;
    this.hasEx = false;
    this.metaStart = 0;
    this.metaEnd = 0;
    this.textStart = 0;
    this.textEnd = 0;
    this.mtype = MetricType.Unknown;
    this.famStart = 0;
    this.famEnd = 0;
    this.famType = MetricType.Unknown;
    this.failed = null;
    this.done = false;
  }

  next(): Entry {
    if (this.failed !== null) throw this.failed;
    if (this.done) return Entry.EOF;
    const b = this.b;
    const n = this.n;
    const i = this.i;
    this.start = i;
    this.hasEx = false;
    if (i >= n) throw this.fail(i, 'expected "# EOF" at end of data, got end of input');
    const c = b[i]!;
    if ((CLS[c]! & C_MSTART) !== 0) return this.sample(i);
    if (c === 0x23 && i + 1 < n && b[i + 1] === SP) return this.hashLine(i + 2);
    throw this.fail(i, `expected a valid start token, got ${describeAt(b, i, false)}`);
  }

  private at(j: number): number {
    return j < this.n ? this.b[j]! : 0;
  }

  /** golex `next()` in a NUL-skipping state (sLValue, sMeta2, sComment). */
  private advSkip(j: number): number {
    j++;
    const b = this.b;
    const n = this.n;
    while (j < n && b[j] === 0) j++;
    return j;
  }

  /** After `# ` (sComment): EOF, HELP, TYPE or UNIT; anything else is an error. */
  private hashLine(j: number): Entry {
    const c = this.at(j);
    const word = c === 0x48 ? META_HELP : c === 0x54 ? META_TYPE : c === 0x55 ? META_UNIT : -1;
    if (word < 0 && c !== 0x45)
      throw this.fail(j, `expected HELP, TYPE, UNIT or EOF after "# ", got ${describeAt(this.b, j, false)}`);
    const rest = word < 0 ? 'OF' : META_WORDS[word]!.slice(1) + ' ';
    for (let k = 0; k < rest.length; k++) {
      j = this.advSkip(j);
      if (this.at(j) !== rest.charCodeAt(k))
        throw this.fail(j, `expected HELP, TYPE, UNIT or EOF after "# ", got ${describeAt(this.b, j, false)}`);
    }
    j = this.advSkip(j);
    if (word >= 0) return this.meta(j, word);
    // `"EOF"\n?` then the input must end.
    if (this.at(j) === LF) j = this.advSkip(j);
    if (j < this.n) throw this.fail(j, `expected end of input after "# EOF", got ${describeAt(this.b, j, false)}`);
    this.done = true;
    this.i = this.n;
    return Entry.EOF;
  }

  /** `# HELP|TYPE|UNIT name SP text LF` from the name at `j`. */
  private meta(j: number, word: number): Entry {
    const b = this.b;
    const n = this.n;
    const w = META_WORDS[word]!;
    if ((CLS[this.at(j)]! & C_MSTART) === 0) throw this.fail(j, `expected metric name after ${w}, got ${describeAt(b, j, false)}`);
    const ms = j;
    do j++;
    while (j < n && (CLS[b[j]!]! & C_MCHAR) !== 0);
    const me = j;
    if (this.at(j) !== SP) throw this.fail(j, `expected text in ${w}, got ${describeAt(b, j, false)}`);
    const tokStart = j;
    let c: number;
    do {
      j = this.advSkip(j);
      c = this.at(j);
    } while (c !== LF && c !== 0);
    if (c === 0) throw this.fail(j, `expected text in ${w} to end with a newline, got end of input`);
    j = this.advSkip(j);
    // The text token is SP … LF (plus any NULs the lexer skipped after the LF);
    // 2.42 keeps buf[1 : len-1].
    const ts = tokStart + 1;
    const te = j - 1;
    this.metaStart = ms;
    this.metaEnd = me;
    this.textStart = ts;
    this.textEnd = te;
    if (word === META_TYPE) {
      let found = false;
      for (const [s, t] of TYPE_WORDS) {
        if (this.bytesEqual(ts, te, s)) {
          this.mtype = t;
          found = true;
          break;
        }
      }
      if (!found)
        throw this.fail(ts, `expected metric type counter, gauge, histogram, gaugehistogram, summary, info, stateset or unknown, got ${quote(b, ts, te)}`);
      this.famStart = ms;
      this.famEnd = me;
      this.famType = this.mtype;
      this.i = j;
      return Entry.Type;
    }
    if (word === META_HELP) {
      if (!isValidUTF8(b, ts, te)) throw this.fail(ts, `expected valid UTF-8 in help text, got ${quote(b, ts, te)}`);
      this.i = j;
      return Entry.Help;
    }
    const ul = te - ts;
    if (ul > 0) {
      let ok = me - ms >= ul + 1 && b[me - ul - 1] === 0x5f;
      for (let k = 0; ok && k < ul; k++) if (b[me - ul + k] !== b[ts + k]) ok = false;
      if (!ok) throw this.fail(ts, `expected unit to be a suffix of metric ${quote(b, ms, me)} after "_", got ${quote(b, ts, te)}`);
    }
    this.i = j;
    return Entry.Unit;
  }

  private sample(i: number): Entry {
    const b = this.b;
    const n = this.n;
    let j = i + 1;
    while (j < n && (CLS[b[j]!]! & C_MCHAR) !== 0) j++;
    this.nameEnd = j;
    this.nLabels = 0;
    if (j < n && b[j] === 0x7b) {
      j = this.labelList(j + 1);
      this.sEnd = j;
    } else {
      this.sEnd = j;
    }
    // sValue: SP then a run of value bytes
    if (b[j] !== SP || j + 1 >= n || (CLS[b[j + 1]!]! & C_OVAL) === 0)
      throw this.fail(j, `expected value after metric, got ${describeAt(b, j, false)}`);
    j++;
    const vs = j;
    do j++;
    while (j < n && (CLS[b[j]!]! & C_OVAL) !== 0);
    const v = parseGoFloat(b, vs, j);
    if (numStatus !== NUM_OK) throw this.fail(vs, `expected float value, got ${quote(b, vs, j)} (${numStatusText(numStatus)})`);
    this.val = v;
    this.hasTs = false;
    // sTimestamp
    let k = this.afterValue(j);
    if (k === -2) {
      // ` # {` exemplar
      j = this.exemplarAt(j + 4);
    } else if (k >= 0) {
      // timestamp [vs, k)
      const t = parseGoFloat(b, j + 1, k);
      if (numStatus !== NUM_OK) throw this.fail(j + 1, `expected float timestamp, got ${quote(b, j + 1, k)} (${numStatusText(numStatus)})`);
      if (t !== t || t === Infinity || t === -Infinity) throw this.fail(j + 1, `expected finite timestamp, got ${quote(b, j + 1, k)}`);
      this.ts = goFloatToInt64(t * 1000);
      this.hasTs = true;
      j = k;
      k = this.afterValue(j);
      if (k === -2) j = this.exemplarAt(j + 4);
      else if (k === -1) j++;
      else throw this.fail(j, `expected next entry after timestamp, got ${describeAt(b, j, false)}`);
    } else {
      j++;
    }
    this.i = j;
    return Entry.Series;
  }

  /**
   * sTimestamp at `j`: returns -1 for LF, -2 for ` # {`, or the end of a
   * ` <timestamp>` token; throws for anything else.
   */
  private afterValue(j: number): number {
    const b = this.b;
    const n = this.n;
    if (j >= n) throw this.fail(j, 'expected "# EOF" at end of data, got end of input');
    const c = b[j]!;
    if (c === LF) return -1;
    if (c === SP && j + 1 < n) {
      const c1 = b[j + 1]!;
      if (c1 === 0x23) {
        if (j + 2 < n && b[j + 2] === SP) {
          if (j + 3 < n && b[j + 3] === 0x7b) return -2;
          throw this.fail(j + 1, `expected "# {" to start an exemplar, got ${describeAt(b, j + 1, false)}`);
        }
      }
      if ((CLS[c1]! & C_OVAL) !== 0) {
        let k = j + 2;
        while (k < n && (CLS[b[k]!]! & C_OVAL) !== 0) k++;
        return k;
      }
    }
    throw this.fail(j, `expected timestamp or # symbol, got ${describeAt(b, j, false)}`);
  }

  /** Series labels after `{`; returns the position after `}`. */
  private labelList(j: number): number {
    const b = this.b;
    const n = this.n;
    let first = true;
    for (;;) {
      let c = this.at(j);
      if (c === 0x7d) return j + 1;
      if (c === 0x2c) {
        if (first) throw this.fail(j, 'expected label name or left brace, got ","');
        j++;
        c = this.at(j);
        if ((CLS[c]! & C_LSTART) === 0) throw this.fail(j, `expected label name, got ${describeAt(b, j, false)}`);
      } else if ((CLS[c]! & C_LSTART) !== 0) {
        if (!first) throw this.fail(j, `expected comma, got ${describeAt(b, j, false)}`);
      } else {
        throw this.fail(j, `expected ${first ? 'label name or left brace' : 'comma or left brace'}, got ${describeAt(b, j, false)}`);
      }
      first = false;
      const ns = j;
      do j++;
      while (j < n && (CLS[b[j]!]! & C_LCHAR) !== 0);
      const ne = j;
      if (this.at(j) !== 0x3d) throw this.fail(j, `expected equal, got ${describeAt(b, j, false)}`);
      j++;
      if (this.at(j) !== 0x22) throw this.fail(j, `expected label value, got ${describeAt(b, j, false)}`);
      const vs = j + 1;
      let f = 0;
      j = vs;
      for (;;) {
        if (j >= n) throw this.fail(vs - 1, 'expected closing quote of label value, got end of input');
        c = b[j]!;
        if (c === 0x22) break;
        if (c === LF) throw this.fail(j, 'expected closing quote of label value, got end of line');
        if (c === 0x5c) {
          f |= F_ESC;
          j++;
          while (j < n && b[j] === 0) j++;
          if (j >= n || b[j] === LF) throw this.fail(j, `expected escaped character after backslash, got ${describeAt(b, j, false)}`);
          c = b[j]!;
        }
        if (c >= 0x80) f |= F_HIGH;
        j++;
      }
      const q = j;
      j++;
      while (j < n && b[j] === 0) j++;
      if ((f & F_HIGH) !== 0 && !isValidUTF8(b, vs, q)) throw this.fail(vs, `expected valid UTF-8 in label value, got ${quote(b, vs, q)}`);
      this.push(ns, ne, vs, j - 1, f);
    }
  }

  private push(ns: number, ne: number, vs: number, ve: number, f: number): void {
    const k = this.nLabels;
    if (4 * k + 4 > this.offs.length) {
      const o = new Int32Array(this.offs.length * 2);
      o.set(this.offs);
      this.offs = o;
      const fl = new Uint8Array(this.flags.length * 2);
      fl.set(this.flags);
      this.flags = fl;
    }
    const o = this.offs;
    o[4 * k] = ns;
    o[4 * k + 1] = ne;
    o[4 * k + 2] = vs;
    o[4 * k + 3] = ve;
    this.flags[k] = f;
    this.nLabels = k + 1;
  }

  /** Exemplar from just after ` # {`; returns the position after its LF. */
  private exemplarAt(j: number): number {
    const b = this.b;
    const n = this.n;
    if (!this.nameHasSuffix('_total') && !this.nameHasSuffix('_bucket'))
      throw this.fail(j - 3, `expected metric name ending in _total or _bucket for an exemplar, got ${quote(b, this.start, this.nameEnd)}`);
    this.exN = 0;
    let first = true;
    for (;;) {
      let c = this.at(j);
      if (c === 0x7d) {
        j++;
        break;
      }
      if (c === 0x2c) {
        if (first) throw this.fail(j, 'expected label name or left brace, got ","');
        j++;
        c = this.at(j);
        if ((CLS[c]! & C_LSTART) === 0) throw this.fail(j, `expected label name, got ${describeAt(b, j, false)}`);
      } else if ((CLS[c]! & C_LSTART) !== 0) {
        if (!first) throw this.fail(j, `expected comma, got ${describeAt(b, j, false)}`);
      } else {
        throw this.fail(j, `expected ${first ? 'label name or left brace' : 'comma or left brace'}, got ${describeAt(b, j, false)}`);
      }
      first = false;
      const ns = j;
      do j++;
      while (j < n && (CLS[b[j]!]! & C_LCHAR) !== 0);
      const ne = j;
      if (this.at(j) !== 0x3d) throw this.fail(j, `expected equal, got ${describeAt(b, j, false)}`);
      j++;
      // sEValue: not a NUL-skipping state, so NUL ends the value like LF does.
      if (this.at(j) !== 0x22) throw this.fail(j, `expected label value, got ${describeAt(b, j, false)}`);
      const vs = j + 1;
      let high = false;
      j = vs;
      for (;;) {
        c = this.at(j);
        if (c === 0x22) break;
        if (c === LF || c === 0) throw this.fail(j, `expected closing quote of exemplar label value, got ${describeAt(b, j, false)}`);
        if (c === 0x5c) {
          j++;
          c = this.at(j);
          if (c === LF || c === 0) throw this.fail(j, `expected escaped character after backslash, got ${describeAt(b, j, false)}`);
        }
        if (c >= 0x80) high = true;
        j++;
      }
      if (high && !isValidUTF8(b, vs, j)) throw this.fail(vs, `expected valid UTF-8 in label value, got ${quote(b, vs, j)}`);
      const k = this.exN;
      if (4 * k + 4 > this.exOffs.length) {
        const o = new Int32Array(this.exOffs.length * 2);
        o.set(this.exOffs);
        this.exOffs = o;
      }
      this.exOffs[4 * k] = ns;
      this.exOffs[4 * k + 1] = ne;
      this.exOffs[4 * k + 2] = vs;
      this.exOffs[4 * k + 3] = j;
      this.exN = k + 1;
      j++;
    }
    // sEValue after `}`: SP value
    if (this.at(j) !== SP || (CLS[this.at(j + 1)]! & C_OVAL) === 0)
      throw this.fail(j, `expected value after exemplar labels, got ${describeAt(b, j, false)}`);
    j++;
    const vs = j;
    do j++;
    while (j < n && (CLS[b[j]!]! & C_OVAL) !== 0);
    const v = parseGoFloat(b, vs, j);
    if (numStatus !== NUM_OK) throw this.fail(vs, `expected float exemplar value, got ${quote(b, vs, j)} (${numStatusText(numStatus)})`);
    this.exVal = v;
    this.exHasTs = false;
    // sETimestamp
    let c = this.at(j);
    if (j >= n) throw this.fail(j, 'expected "# EOF" at end of data, got end of input');
    if (c === SP && (CLS[this.at(j + 1)]! & C_OVAL) !== 0) {
      const ts0 = j + 1;
      j = ts0;
      do j++;
      while (j < n && (CLS[b[j]!]! & C_OVAL) !== 0);
      const t = parseGoFloat(b, ts0, j);
      if (numStatus !== NUM_OK) throw this.fail(ts0, `expected float exemplar timestamp, got ${quote(b, ts0, j)} (${numStatusText(numStatus)})`);
      if (t !== t || t === Infinity || t === -Infinity) throw this.fail(ts0, `expected finite exemplar timestamp, got ${quote(b, ts0, j)}`);
      this.exTs = goFloatToInt64(t * 1000);
      this.exHasTs = true;
      c = this.at(j);
      if (c !== LF) throw this.fail(j, `expected next entry after exemplar timestamp, got ${describeAt(b, j, false)}`);
    } else if (c !== LF) {
      throw this.fail(j, `expected timestamp or comment, got ${describeAt(b, j, false)}`);
    }
    this.hasEx = true;
    return j + 1;
  }

  private nameHasSuffix(sfx: string): boolean {
    const len = sfx.length;
    if (this.nameEnd - this.start < len) return false;
    const s = this.nameEnd - len;
    for (let k = 0; k < len; k++) if (this.b[s + k] !== sfx.charCodeAt(k)) return false;
    return true;
  }

  private bytesEqual(s: number, e: number, w: string): boolean {
    if (e - s !== w.length) return false;
    for (let k = 0; k < w.length; k++) if (this.b[s + k] !== w.charCodeAt(k)) return false;
    return true;
  }

  private fail(pos: number, detail: string): ParseError {
    this.failed = errorAt(this.b, pos, detail);
    return this.failed;
  }

  series(): Uint8Array {
    return this.b.subarray(this.start, this.sEnd);
  }

  seriesStartOffset(): number {
    return this.start;
  }

  seriesEndOffset(): number {
    return this.sEnd;
  }

  value(): number {
    return this.val;
  }

  hasTimestamp(): boolean {
    return this.hasTs;
  }

  timestamp(): number {
    return this.ts;
  }

  labels(sink: LabelSink): void {
    setLabels(this, this.dec, sink);
  }

  help(): { name: string; text: string } {
    const b = this.b;
    let esc = false;
    for (let k = this.textStart; k < this.textEnd; k++) if (b[k] === 0x5c) esc = true;
    const text = esc
      ? unescapeToString(b, this.textStart, this.textEnd, false, (u, s, e) => nativeView(u).utf8Slice(s, e))
      : this.dec.utf8Slice(this.textStart, this.textEnd);
    return { name: this.dec.latin1Slice(this.metaStart, this.metaEnd), text };
  }

  type(): { name: string; type: MetricType } {
    return { name: this.dec.latin1Slice(this.metaStart, this.metaEnd), type: this.mtype };
  }

  unit(): { name: string; unit: string } {
    return { name: this.dec.latin1Slice(this.metaStart, this.metaEnd), unit: this.dec.utf8Slice(this.textStart, this.textEnd) };
  }

  /** OpenMetrics has no comments (they are parse errors); never returned. */
  comment(): string {
    return '';
  }

  exemplar(): Exemplar | null {
    if (!this.hasEx) return null;
    const labels: string[] = [];
    const o = this.exOffs;
    for (let k = 0; k < this.exN; k++) {
      labels.push(this.dec.latin1Slice(o[4 * k]!, o[4 * k + 1]!), this.dec.utf8Slice(o[4 * k + 2]!, o[4 * k + 3]!));
    }
    return { labels, value: this.exVal, hasTimestamp: this.exHasTs, timestamp: this.exHasTs ? this.exTs : 0 };
  }

  /**
   * For `<family>_created` samples of a counter, histogram, summary or
   * gaugehistogram family (per the last `# TYPE`): the creation time in ms
   * (`int64(value * 1000)`), else null. Informational only: 2.42 stores `_created`
   * as an ordinary series and the scrape loop must keep doing so.
   */
  createdTimestamp(): number | null {
    const t = this.famType;
    if (t !== MetricType.Counter && t !== MetricType.Histogram && t !== MetricType.Summary && t !== MetricType.GaugeHistogram) return null;
    const fl = this.famEnd - this.famStart;
    if (this.nameEnd - this.start !== fl + 8 || !this.nameHasSuffix('_created')) return null;
    for (let k = 0; k < fl; k++) if (this.b[this.start + k] !== this.b[this.famStart + k]) return null;
    const v = this.val;
    if (v !== v || v === Infinity || v === -Infinity) return null;
    return goFloatToInt64(v * 1000);
  }
}
