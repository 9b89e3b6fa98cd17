/**
 * Prometheus text format 0.0.4, parsed exactly as Prometheus 2.42 does
 * (model/textparse/promlex.l + promparse.go), over the raw body bytes.
 *
 * 2.42 lexes with a golex state machine; this is a hand-written scanner with the
 * same observable behaviour, checked against a running 2.42 (test/textparse). The
 * states it emulates, and where each is entered:
 *
 *   sInit ──name──▶ sValue ──{──▶ sLabels ──=──▶ sLValue ──"…"──▶ sLabels ──}──▶ sValue
 *     │                │                                                          │
 *     │                └──────────────value──────────────▶ sTimestamp ◀──value────┘
 *     └──#[ \t]+──▶ sComment ──HELP/TYPE──▶ sMeta1 ──name──▶ sMeta2 ──text──▶ sInit
 *
 * Quirks kept on purpose because they decide what a scrape accepts:
 *  - One LF is appended to the body (here: position `n` reads as a virtual LF), so a
 *    missing final newline is fine.
 *  - Blanks (SP, TAB) may separate any two tokens and start a line; they then become
 *    part of the metric name (`p.start` is the line start), which the *scrape loop*
 *    rejects later as an invalid metric name. The parser itself accepts the line.
 *  - Label pairs need no comma (`{a="1"b="2"}`), one trailing comma is allowed.
 *  - A raw LF inside a quoted label value is accepted; a backslash before LF is not.
 *  - A NUL byte where a new token starts in sInit ends the body silently (EOF).
 *    While lexing label values, HELP/TYPE text and comments the lexer skips NULs;
 *    NULs right after a label value's closing quote join that token, so the value
 *    becomes `x"` + NULs for `a="x"\0` (2.42 really stores that).
 *  - HELP/TYPE text is "rest of line minus its first byte", whatever that byte is.
 *
 * Hot path: `next()` for a sample touches each byte once through the `CLS` table,
 * records label offsets in a reused Int32Array and parses the value from bytes; no
 * string is created unless `labels()`, `help()` … are called.
 *
 * Not thread-safe; one parser per body. Byte views returned are subarrays of the
 * body and valid as long as the caller keeps the body.
 */
import { ParseError } from './errors.js';
import { CLS, C_BLANK, C_DIGIT, C_LCHAR, C_LSTART, C_MCHAR, C_MSTART, C_PVAL, QPLAIN, describeAt, errorAt, quote, unescapeToString } from './lex.js';
import { NUM_OK, numStatus, numStatusText, parseGoFloat, parseGoInt64 } from './numbers.js';
import { Entry, MetricType, type Exemplar, type LabelSink, type Parser } from './parser.js';
import { setLabels, type LabelOffsets } from './series-labels.js';
import { isValidUTF8, nativeView } from './utf8.js';

/** Label flag: the raw value contains a backslash (needs unescaping). */
export const F_ESC = 1;
/** Label flag: the raw value contains a byte ≥ 0x80 (decode as UTF-8). */
export const F_HIGH = 2;

const SP = 0x20;
const TAB = 0x09;
const LF = 0x0a;

const TYPE_WORDS: ReadonlyArray<readonly [string, MetricType]> = [
  ['counter', MetricType.Counter],
  ['gauge', MetricType.Gauge],
  ['histogram', MetricType.Histogram],
  ['summary', MetricType.Summary],
  ['untyped', MetricType.Unknown],
];

/** Pull parser for text format 0.0.4. See the file comment for the rules. */
export class PromTextParser implements Parser, LabelOffsets {
  /** the body */
  readonly b: Uint8Array;
  /** body length; position `n` reads as the LF Prometheus appends */
  private readonly n: number;
  private readonly dec: ReturnType<typeof nativeView>;
  /** lexer position, 0 … n+1 */
  private i: number;
  /** start of the current line (Prometheus's `p.start`); the series bytes start here */
  start: number;
  nameEnd: number;
  private sEnd: number;
  nLabels: number;
  /** per label: name start, name end, value start, value end (absolute offsets) */
  offs: Int32Array;
  /** per label: F_ESC | F_HIGH */
  flags: Uint8Array;
  private val: number;
  private ts: number;
  private hasTs: boolean;
  private metaStart: number;
  private metaEnd: number;
  private textStart: number;
  private textEnd: number;
  private mtype: MetricType;
  private failed: ParseError | null;
  private done: boolean;
  /** DataView over the body, for 4-byte compares against an expected series. */
  private readonly view: DataView;
  /** Series bytes the caller expects on the next sample line (see `expectSeries`); null when none. */
  private expView: DataView | null;
  private expOff: number;
  private expLen: number;
  /** The current sample line began with exactly the expected series bytes. */
  private expMatched: boolean;
  /** `nameEnd`/`nLabels`/`offs` not filled yet (expected series matched); `labels()` scans on demand. */
  private lazyLabels: boolean;

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
    this.metaStart = 0;
    this.metaEnd = 0;
    this.textStart = 0;
    this.textEnd = 0;
    this.mtype = MetricType.Unknown;
    this.failed = null;
    this.done = false;
    this.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    this.expView = null;
    this.expOff = 0;
    this.expLen = 0;
    this.expMatched = false;
    this.lazyLabels = false;
  }

  /**
   * Hint from a caller that caches series by their bytes (the scrape cache): the next
   * sample line probably starts with the series bytes `view[off, off+len)`, bytes
   * this parser accepted before. If the line does start with exactly those bytes
   * followed by the value, `next()` skips tokenizing the label list (the same bytes
   * lex the same way) and `seriesMatchedExpected()` is true; `labels()` still works
   * (it scans on demand). Otherwise the line is parsed as usual. Consumed by the next
   * sample line; the view must stay unchanged until then.
   */
  expectSeries(view: DataView, off: number, len: number): void {
    this.expView = view;
    this.expOff = off;
    this.expLen = len;
  }

  /** True when the current sample's series bytes were exactly the expected ones (`expectSeries`). */
  seriesMatchedExpected(): boolean {
    return this.expMatched;
  }

  next(): Entry {
    if (this.failed !== null) throw this.failed;
    if (this.done) return Entry.EOF;
    const b = this.b;
    const n = this.n;
    for (;;) {
      let i = this.i;
      this.start = i;
      if (i > n) return this.eof();
      let c = i < n ? b[i]! : LF;
      if (c === SP || c === TAB) {
        do i++;
        while (i < n && (b[i] === SP || b[i] === TAB));
        c = i < n ? b[i]! : LF;
      }
      if ((CLS[c]! & C_MSTART) !== 0) return this.sample(i);
      if (c === LF) {
        this.i = i + 1;
        continue;
      }
      if (c === 0x23) return this.hashLine(i);
      // promlex's `\0` rule returns EOF: 2.42 stops reading here and keeps what it has.
      if (c === 0) return this.eof();
      throw this.fail(i, `expected a valid start token, got ${describeAt(b, i, true)}`);
    }
  }

  /** A sample line starting with the metric name at `i`. */
  private sample(i: number): Entry {
    const b = this.b;
    const n = this.n;
    this.expMatched = false;
    this.lazyLabels = false;
    if (this.expView !== null) {
      const j = this.matchExpected();
      this.expView = null;
      if (j >= 0) {
        this.expMatched = true;
        this.lazyLabels = true;
        this.sEnd = this.start + this.expLen;
        return this.valueAndTimestamp(j);
      }
    }
    let j = i + 1;
    while (j < n && (CLS[b[j]!]! & C_MCHAR) !== 0) j++;
    this.nameEnd = j;
    this.nLabels = 0;
    while (j < n && (CLS[b[j]!]! & C_BLANK) !== 0) j++;
    let c = j < n ? b[j]! : LF;
    if (c === 0x7b) {
      j = this.labelList(j + 1);
      this.sEnd = j;
      while (j < n && (CLS[b[j]!]! & C_BLANK) !== 0) j++;
      c = j < n ? b[j]! : LF;
    } else {
      this.sEnd = this.nameEnd;
    }
    if ((CLS[c]! & C_PVAL) === 0) throw this.fail(j, `expected value after metric, got ${describeAt(b, j, true)}`);
    return this.valueAndTimestamp(j);
  }

  /**
   * Position of the value if the line at `start` begins with the expected series
   * bytes and the value follows them, else -1. The bytes were accepted before and
   * lex identically; what follows must end the series the same way: after a label
   * list anything the lexer allows (blanks, then a value), after a bare name at
   * least one blank (else the name would go on) and then a value (not `{`).
   */
  private matchExpected(): number {
    const st = this.start;
    const len = this.expLen;
    const n = this.n;
    if (len === 0 || st + len >= n) return -1;
    const a = this.expView as DataView;
    const ao = this.expOff;
    const v = this.view;
    let k = 0;
    for (; k + 4 <= len; k += 4) if (a.getInt32(ao + k, true) !== v.getInt32(st + k, true)) return -1;
    for (; k < len; k++) if (a.getUint8(ao + k) !== v.getUint8(st + k)) return -1;
    const b = this.b;
    let j = st + len;
    const braces = b[j - 1] === 0x7d;
    if (!braces && (CLS[b[j]!]! & C_BLANK) === 0) return -1;
    while (j < n && (CLS[b[j]!]! & C_BLANK) !== 0) j++;
    if (j >= n || (CLS[b[j]!]! & C_PVAL) === 0) return -1;
    return j;
  }

  /** Fills `nameEnd`, `nLabels` and `offs` for a sample matched by `expectSeries` (bytes known to be valid). */
  private scanLabels(): void {
    const b = this.b;
    const n = this.n;
    let j = this.start;
    while (j < n && (b[j] === SP || b[j] === TAB)) j++;
    j++;
    while (j < n && (CLS[b[j]!]! & C_MCHAR) !== 0) j++;
    this.nameEnd = j;
    this.nLabels = 0;
    while (j < n && (CLS[b[j]!]! & C_BLANK) !== 0) j++;
    if (j < n && b[j] === 0x7b) this.labelList(j + 1);
    this.lazyLabels = false;
  }

  /** The value (at `j`, a value byte) and optional timestamp to the end of the line. */
  private valueAndTimestamp(j: number): Entry {
    const b = this.b;
    const n = this.n;
    const vs = j;
    do j++;
    while (j < n && (CLS[b[j]!]! & C_PVAL) !== 0);
    const v = parseGoFloat(b, vs, j);
    if (numStatus !== NUM_OK) throw this.fail(vs, `expected float value, got ${quote(b, vs, j)} (${numStatusText(numStatus)})`);
    this.val = v;
    while (j < n && (CLS[b[j]!]! & C_BLANK) !== 0) j++;
    const c = j < n ? b[j]! : LF;
    if (c === LF) {
      this.hasTs = false;
      this.i = j + 1;
      return Entry.Series;
    }
    if ((CLS[c]! & C_DIGIT) === 0) throw this.fail(j, `expected timestamp or new record, got ${describeAt(b, j, true)}`);
    const ts0 = j;
    do j++;
    while (j < n && (CLS[b[j]!]! & C_DIGIT) !== 0);
    const t = parseGoInt64(b, ts0, j);
    if (numStatus !== NUM_OK) throw this.fail(ts0, `expected int64 millisecond timestamp, got ${quote(b, ts0, j)} (${numStatusText(numStatus)})`);
    while (j < n && (CLS[b[j]!]! & C_BLANK) !== 0) j++;
    if (j < n && b[j] !== LF) throw this.fail(j, `expected next entry after timestamp, got ${describeAt(b, j, true)}`);
    this.ts = t;
    this.hasTs = true;
    this.i = j + 1;
    return Entry.Series;
  }

  /** `{…}` content from `j` (just after `{`); returns the position after `}`. */
  private labelList(j: number): number {
    const b = this.b;
    const n = this.n;
    for (;;) {
      while (j < n && (CLS[b[j]!]! & C_BLANK) !== 0) j++;
      let c = j < n ? b[j]! : LF;
      if (c === 0x7d) return j + 1;
      if ((CLS[c]! & C_LSTART) === 0) throw this.fail(j, `expected label name, got ${describeAt(b, j, true)}`);
      const ns = j;
      do j++;
      while (j < n && (CLS[b[j]!]! & C_LCHAR) !== 0);
      const ne = j;
      while (j < n && (CLS[b[j]!]! & C_BLANK) !== 0) j++;
      if (j >= n || b[j] !== 0x3d) throw this.fail(j, `expected equal, got ${describeAt(b, j, true)}`);
      j++;
      // sLValue: blanks may precede the quote; once inside them the lexer skips NULs.
      c = j < n ? b[j]! : LF;
      if (c === SP || c === TAB) {
        for (;;) {
          j++;
          while (j < n && b[j] === 0) j++;
          c = j < n ? b[j]! : LF;
          if (c !== SP && c !== TAB) break;
        }
      }
      if (c !== 0x22) throw this.fail(j, `expected label value, got ${describeAt(b, j, true)}`);
      const vs = j + 1;
      let f = 0;
      j = vs;
      for (;;) {
        while (j < n && QPLAIN[b[j]!] === 1) j++;
        // Position n is the appended LF, legal raw inside quotes; n+1 is end of input.
        if (j >= n) throw this.fail(vs - 1, 'expected closing quote of label value, got end of input');
        c = b[j]!;
        if (c === 0x22) break;
        if (c === 0x5c) {
          f |= F_ESC;
          j++;
          while (j < n && b[j] === 0) j++;
          if (j >= n || b[j] === LF) throw this.fail(j, `expected escaped character after backslash, got ${describeAt(b, j, true)}`);
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
      while (j < n && (CLS[b[j]!]! & C_BLANK) !== 0) j++;
      if (j < n && b[j] === 0x2c) j++;
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

  /** Byte at `j` as the golex lexer sees it: LF at n, 0 (end) beyond. */
  private at(j: number): number {
    return j < this.n ? this.b[j]! : j === this.n ? LF : 0;
  }

  /** golex `next()` in a state that skips NUL bytes (sLValue, sMeta2, sComment). */
  private advSkip(j: number): number {
    j++;
    const b = this.b;
    const n = this.n;
    while (j < n && b[j] === 0) j++;
    return j;
  }

  /** A line whose first token starts with `#` at `i`. */
  private hashLine(i: number): Entry {
    let j = i + 1;
    let c = this.at(j);
    if (c !== SP && c !== TAB) return this.consumeComment(i, j, false);
    do {
      j++;
      c = this.at(j);
    } while (c === SP || c === TAB);
    // sComment: HELP/TYPE keywords (advancing with NUL skipping), else a comment.
    if (c !== 0x48 && c !== 0x54) return this.consumeComment(i, j, true);
    const isHelp = c === 0x48;
    const k = this.keyword(j, isHelp ? 'ELP' : 'YPE');
    if (k < 0) return this.consumeComment(i, -k - 1, true);
    return this.meta(k, isHelp);
  }

  /**
   * Matches `rest` and then `[ \t]+` after the keyword's first byte at `j`. Returns
   * the position after the blanks, or `-(abortPosition) - 1` when the keyword
   * does not match (the line is then a comment).
   */
  private keyword(j: number, rest: string): number {
    for (let k = 0; k < rest.length; k++) {
      j = this.advSkip(j);
      if (this.at(j) !== rest.charCodeAt(k)) return -j - 1;
    }
    j = this.advSkip(j);
    let c = this.at(j);
    if (c !== SP && c !== TAB) return -j - 1;
    do {
      j = this.advSkip(j);
      c = this.at(j);
    } while (c === SP || c === TAB);
    return j;
  }

  /** promlex `consumeComment`: to the end of line; a NUL (when not skipping) is EOF. */
  private consumeComment(tokStart: number, j: number, skipNul: boolean): Entry {
    let c = this.at(j);
    while (c !== LF) {
      if (c === 0) return this.eof();
      j = skipNul ? this.advSkip(j) : j + 1;
      c = this.at(j);
    }
    this.textStart = tokStart;
    this.textEnd = j;
    this.i = j + 1;
    return Entry.Comment;
  }

  /** HELP/TYPE after the keyword's blanks: metric name, then text to end of line. */
  private meta(j: number, isHelp: boolean): Entry {
    const b = this.b;
    const n = this.n;
    let c = this.at(j);
    if ((CLS[c]! & C_MSTART) === 0)
      throw this.fail(j, `expected metric name after ${isHelp ? 'HELP' : 'TYPE'}, got ${describeAt(b, j, true)}`);
    const ms = j;
    do j++;
    while (j < n && (CLS[b[j]!]! & C_MCHAR) !== 0);
    this.metaStart = ms;
    this.metaEnd = j;
    // sMeta2: the text token is the rest of the line; Prometheus drops its first byte.
    c = this.at(j);
    let ts = j;
    let te = j;
    if (c === SP || c === TAB) {
      let k = j;
      do {
        k = this.advSkip(k);
        c = this.at(k);
      } while (c === SP || c === TAB);
      if (c !== LF && c !== 0) {
        te = this.toEol(k);
        ts = j + 1;
        j = te;
      } else {
        // Only blanks: a whitespace token, then an empty text token.
        ts = te = j = k;
      }
    } else if (c !== LF && c !== 0) {
      te = this.toEol(j);
      ts = te - j > 1 ? j + 1 : te;
      j = te;
    }
    this.textStart = ts;
    this.textEnd = te;
    if (isHelp) {
      if (!isValidUTF8(b, ts, te)) throw this.fail(ts, `expected valid UTF-8 in help text, got ${quote(b, ts, te)}`);
    } else {
      let found = false;
      for (const [w, t] of TYPE_WORDS) {
        if (this.bytesEqual(ts, te, w)) {
          this.mtype = t;
          found = true;
          break;
        }
      }
      if (!found)
        throw this.fail(ts, `expected metric type counter, gauge, histogram, summary or untyped, got ${quote(b, ts, te)}`);
    }
    if (this.at(j) !== LF) throw this.fail(j, `expected linebreak after metadata, got ${describeAt(b, j, true)}`);
    this.i = j + 1;
    return isHelp ? Entry.Help : Entry.Type;
  }

  /** State 22 of promlex: text bytes (NULs skipped) up to the LF. */
  private toEol(k: number): number {
    let c = this.at(k);
    while (c !== LF && c !== 0) {
      k = this.advSkip(k);
      c = this.at(k);
    }
    return k;
  }

  private bytesEqual(s: number, e: number, w: string): boolean {
    if (e - s !== w.length) return false;
    for (let k = 0; k < w.length; k++) if (this.b[s + k] !== w.charCodeAt(k)) return false;
    return true;
  }

  private eof(): Entry {
    this.done = true;
    this.i = this.n + 1;
    return Entry.EOF;
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
    if (this.lazyLabels) this.scanLabels();
    setLabels(this, this.dec, sink);
  }

  help(): { name: string; text: string } {
    const name = this.dec.latin1Slice(this.metaStart, this.metaEnd);
    const b = this.b;
    let esc = false;
    for (let k = this.textStart; k < this.textEnd; k++) if (b[k] === 0x5c) esc = true;
    const text = esc
      ? unescapeToString(b, this.textStart, this.textEnd, true, (u, s, e) => nativeView(u).utf8Slice(s, e))
      : this.dec.utf8Slice(this.textStart, this.textEnd);
    return { name, text };
  }

  type(): { name: string; type: MetricType } {
    return { name: this.dec.latin1Slice(this.metaStart, this.metaEnd), type: this.mtype };
  }

  /** 0.0.4 has no UNIT lines (`# UNIT` is a comment); never returned. */
  unit(): { name: string; unit: string } {
    return { name: '', unit: '' };
  }

  /** The whole comment line as written, `#` included (Prometheus's `Comment()`). */
  comment(): string {
    return this.dec.utf8Slice(this.textStart, this.textEnd);
  }

  /** 0.0.4 has no exemplars. */
  exemplar(): Exemplar | null {
    return null;
  }

  /** 0.0.4 has no created timestamps. */
  createdTimestamp(): number | null {
    return null;
  }
}
