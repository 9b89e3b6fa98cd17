/**
 * A small parser for Prometheus series selectors (the `match[]` of the HTTP API):
 *
 *   selector  = metric [ "{" [ matchers ] "}" ] | "{" matchers "}"
 *   matchers  = matcher { "," matcher } [ "," ]
 *   matcher   = label op string          op = "=" | "!=" | "=~" | "!~"
 *   metric    = [a-zA-Z_:][a-zA-Z0-9_:]*   label = [a-zA-Z_][a-zA-Z0-9_]*
 *   string    = "…" | '…' | `…`          (Go escapes in the quoted forms; none in `raw`)
 *
 * It accepts and rejects what Prometheus 2.42 does for these shapes (checked side by side
 * against a real Prometheus in test/api/selector.test.ts), including the API's semantic
 * rule that at least one matcher must not match the empty string (`{a=""}` or
 * `{a=~".*"}` alone would select every series). As in Prometheus, `up{__name__="x"}` is
 * accepted (it selects nothing), aggregation keywords such as `sum` are valid metric
 * names here, and `inf`/`nan` (any case) are not (the lexer reads them as numbers).
 * Not supported, on purpose: offsets, ranges, `@`, functions — a dump selects series,
 * it does not evaluate expressions. Known difference: `\xHH` above 0x7f yields U+00HH
 * here, where Go would produce a raw (invalid UTF-8) byte.
 *
 * Errors are SelectorError with the 0-based position of the problem, so the API can say
 * "matchers[2]: at char 7: expected a string after =~".
 */
import { Matcher, MatchType, MatcherError } from './matcher.js';

export class SelectorError extends Error {
  readonly code = 'MM_ERR_BAD_SELECTOR';
  /** 0-based offset into the selector where the problem was found. */
  readonly pos: number;
  constructor(message: string, pos: number) {
    super(`at char ${pos + 1}: ${message}`);
    this.name = 'SelectorError';
    this.pos = pos;
  }
}

/** Longest selector accepted (bytes of source); a dump needs no more. */
export const MAX_SELECTOR_LENGTH = 4096;

const METRIC_START = /[a-zA-Z_:]/;
const METRIC_CHAR = /[a-zA-Z0-9_:]/;
const LABEL_START = /[a-zA-Z_]/;
const LABEL_CHAR = /[a-zA-Z0-9_]/;
const SPACE = /[ \t\r\n]/;
/** Words the PromQL lexer reads as numbers (case-insensitive), so never metric names. */
const NUMBER_WORDS = new Set(['inf', 'nan']);

/** Parses `s` into matchers (metric name → `__name__="…"` first). Throws SelectorError. */
export function parseSelector(s: string): Matcher[] {
  if (s.length > MAX_SELECTOR_LENGTH) throw new SelectorError(`selector longer than ${MAX_SELECTOR_LENGTH} characters`, MAX_SELECTOR_LENGTH);
  return new SelectorParser(s).parse();
}

class SelectorParser {
  private readonly s: string;
  private i: number;

  constructor(s: string) {
    this.s = s;
    this.i = 0;
  }

  parse(): Matcher[] {
    const out: Matcher[] = [];
    this.skipSpace();
    if (this.i >= this.s.length) throw new SelectorError('empty selector', this.i);
    const c = this.s[this.i] as string;
    if (METRIC_START.test(c)) {
      const at = this.i;
      const metric = this.ident(METRIC_START, METRIC_CHAR);
      if (NUMBER_WORDS.has(metric.toLowerCase())) throw new SelectorError(`${JSON.stringify(metric)} is a number in PromQL, not a metric name`, at);
      out.push(new Matcher(MatchType.Equal, '__name__', metric));
      this.skipSpace();
    } else if (c !== '{') {
      throw new SelectorError(`unexpected ${describe(c)}: want a metric name or "{"`, this.i);
    }
    if (this.i < this.s.length && this.s[this.i] === '{') {
      this.i++;
      this.matchers(out);
    }
    this.skipSpace();
    if (this.i < this.s.length) throw new SelectorError(`unexpected ${describe(this.s[this.i] as string)} after the selector`, this.i);
    if (!out.some((m) => !m.matchesEmpty())) {
      throw new SelectorError('vector selector must contain at least one non-empty matcher', 0);
    }
    return out;
  }

  private matchers(out: Matcher[]): void {
    for (;;) {
      this.skipSpace();
      if (this.i >= this.s.length) throw new SelectorError('unterminated "{": want "}"', this.i);
      if (this.s[this.i] === '}') {
        this.i++;
        return;
      }
      if (!LABEL_START.test(this.s[this.i] as string)) {
        throw new SelectorError(`unexpected ${describe(this.s[this.i] as string)}: want a label name`, this.i);
      }
      const name = this.ident(LABEL_START, LABEL_CHAR);
      this.skipSpace();
      const opPos = this.i;
      const type = this.op();
      this.skipSpace();
      const value = this.string();
      try {
        out.push(new Matcher(type, name, value));
      } catch (e) {
        if (e instanceof MatcherError) throw new SelectorError(e.message, opPos);
        throw e;
      }
      this.skipSpace();
      const sep = this.s[this.i];
      if (sep === ',') {
        this.i++;
        continue;
      }
      if (sep === '}') continue;
      if (sep === undefined) throw new SelectorError('unterminated "{": want "}"', this.i);
      throw new SelectorError(`unexpected ${describe(sep)}: want "," or "}"`, this.i);
    }
  }

  private op(): MatchType {
    const a = this.s[this.i];
    const b = this.s[this.i + 1];
    if (a === '=' && b === '~') return this.take(2, MatchType.Regexp);
    if (a === '!' && b === '~') return this.take(2, MatchType.NotRegexp);
    if (a === '!' && b === '=') return this.take(2, MatchType.NotEqual);
    if (a === '=') return this.take(1, MatchType.Equal);
    throw new SelectorError(`unexpected ${describe(a)}: want one of = != =~ !~`, this.i);
  }

  private take(n: number, t: MatchType): MatchType {
    this.i += n;
    return t;
  }

  private ident(start: RegExp, rest: RegExp): string {
    const from = this.i;
    if (!start.test(this.s[this.i] ?? '')) throw new SelectorError('want a name', this.i);
    this.i++;
    while (this.i < this.s.length && rest.test(this.s[this.i] as string)) this.i++;
    return this.s.slice(from, this.i);
  }

  private skipSpace(): void {
    while (this.i < this.s.length && SPACE.test(this.s[this.i] as string)) this.i++;
  }

  /** A quoted string with Go escapes ("…", '…') or a raw string (`…`). */
  private string(): string {
    const start = this.i;
    const q = this.s[this.i];
    if (q !== '"' && q !== "'" && q !== '`') throw new SelectorError(`unexpected ${describe(q)}: want a quoted string`, this.i);
    this.i++;
    if (q === '`') {
      const end = this.s.indexOf('`', this.i);
      if (end < 0) throw new SelectorError('unterminated raw string', start);
      const v = this.s.slice(this.i, end);
      this.i = end + 1;
      return v;
    }
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) throw new SelectorError('unterminated quoted string', start);
      const c = this.s[this.i] as string;
      if (c === q) {
        this.i++;
        return out;
      }
      if (c === '\n') throw new SelectorError('unterminated quoted string (newline)', start);
      if (c === '\\') {
        out += this.escape(q);
        continue;
      }
      // Whole code points, so astral characters stay intact.
      const cp = this.s.codePointAt(this.i) as number;
      out += String.fromCodePoint(cp);
      this.i += cp > 0xffff ? 2 : 1;
    }
  }

  /** One Go escape sequence at `\`; returns its text. */
  private escape(q: string): string {
    const at = this.i;
    const e = this.s[this.i + 1];
    this.i += 2;
    switch (e) {
      case 'a': return '\x07';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'v': return '\v';
      case '\\': return '\\';
      case '"':
      case "'":
        if (e !== q) throw new SelectorError(`unknown escape sequence \\${e}`, at);
        return e;
      case 'x': return String.fromCodePoint(this.hex(2, at));
      case 'u': return this.rune(this.hex(4, at), at);
      case 'U': return this.rune(this.hex(8, at), at);
      default:
        if (e !== undefined && e >= '0' && e <= '7') {
          const digits = this.s.slice(this.i - 1, this.i + 2);
          if (!/^[0-7]{3}$/.test(digits)) throw new SelectorError('octal escape needs 3 digits', at);
          const v = parseInt(digits, 8);
          if (v > 255) throw new SelectorError(`octal escape value ${v} > 255`, at);
          this.i += 2;
          return String.fromCodePoint(v);
        }
        throw new SelectorError(`unknown escape sequence ${e === undefined ? '\\ at end' : '\\' + e}`, at);
    }
  }

  private hex(n: number, at: number): number {
    const digits = this.s.slice(this.i, this.i + n);
    if (digits.length !== n || !/^[0-9a-fA-F]+$/.test(digits)) throw new SelectorError(`escape needs ${n} hex digits`, at);
    this.i += n;
    return parseInt(digits, 16);
  }

  private rune(v: number, at: number): string {
    if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new SelectorError(`escape is not a valid Unicode code point (U+${v.toString(16)})`, at);
    return String.fromCodePoint(v);
  }
}

function describe(c: string | undefined): string {
  return c === undefined ? 'end of input' : JSON.stringify(c);
}
