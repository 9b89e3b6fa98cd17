/**
 * PromQL metric selector parsing for `tsdb dump --match` (Prometheus
 * `parser.ParseMetricSelector`): `name`, `name{l="v", …}` or `{l=~"re", …}` with
 * Go-quoted strings ("…" with escapes, '…', `…`).
 *
 * RE2 inline-flag groups over the whole expression, `(?s:…)` as in promtool's default
 * `{__name__=~'(?s:.*)'}`, become a leading `(?s)`, which the storage matcher supports.
 */
import { Matcher, MatchType } from '../storage/index.js';

export class SelectorError extends Error {
  readonly code = 'MM_ERR_BAD_SELECTOR';
}

const NAME_START = /[a-zA-Z_:]/;
const NAME_CHAR = /[a-zA-Z0-9_:]/;
const LABEL_START = /[a-zA-Z_]/;
const LABEL_CHAR = /[a-zA-Z0-9_]/;

export function parseMetricSelector(input: string): Matcher[] {
  let i = 0;
  const s = input;
  const fail = (msg: string): never => {
    throw new SelectorError(`1:${i + 1}: parse error: ${msg}`);
  };
  const ws = () => {
    while (i < s.length && /\s/.test(s[i] as string)) i++;
  };
  const ident = (start: RegExp, char: RegExp): string => {
    const b = i;
    if (i < s.length && start.test(s[i] as string)) {
      i++;
      while (i < s.length && char.test(s[i] as string)) i++;
    }
    return s.slice(b, i);
  };
  const out: Matcher[] = [];
  ws();
  const name = ident(NAME_START, NAME_CHAR);
  if (name !== '') out.push(new Matcher(MatchType.Equal, '__name__', name));
  ws();
  if (s[i] === '{') {
    i++;
    ws();
    while (s[i] !== '}') {
      if (i >= s.length) fail('unexpected end of input inside braces');
      const l = ident(LABEL_START, LABEL_CHAR);
      if (l === '') fail(`unexpected character inside braces: ${JSON.stringify(s[i])}`);
      ws();
      let op: MatchType;
      if (s.startsWith('=~', i)) {
        op = MatchType.Regexp;
        i += 2;
      } else if (s.startsWith('!~', i)) {
        op = MatchType.NotRegexp;
        i += 2;
      } else if (s.startsWith('!=', i)) {
        op = MatchType.NotEqual;
        i += 2;
      } else if (s[i] === '=') {
        op = MatchType.Equal;
        i += 1;
      } else {
        op = fail(`unexpected character after label name ${JSON.stringify(l)}`);
      }
      ws();
      let v = readGoString();
      if (op === MatchType.Regexp || op === MatchType.NotRegexp) v = liftInlineFlagGroup(v);
      try {
        out.push(new Matcher(op, l, v));
      } catch (e) {
        fail((e as Error).message);
      }
      ws();
      if (s[i] === ',') {
        i++;
        ws();
      } else if (s[i] !== '}') fail('expected "," or "}"');
    }
    i++;
  }
  ws();
  if (i < s.length) fail(`unexpected ${JSON.stringify(s.slice(i))}`);
  // ParseMetricSelector does not run PromQL's AST checks: `{}` and all-empty-matching
  // selectors (promtool's own default) are accepted; `{}` selects nothing.
  return out;

  function readGoString(): string {
    const q = s[i];
    if (q !== '"' && q !== "'" && q !== '`') fail('expected a quoted string');
    i++;
    let v = '';
    if (q === '`') {
      const e = s.indexOf('`', i);
      if (e < 0) fail('unterminated raw string');
      v = s.slice(i, e);
      i = e + 1;
      return v;
    }
    while (i < s.length && s[i] !== q) {
      const c = s[i] as string;
      if (c === '\n') fail('newline in string');
      if (c !== '\\') {
        v += c;
        i++;
        continue;
      }
      const n = s[i + 1];
      i += 2;
      switch (n) {
        case 'a':
          v += '\x07';
          break;
        case 'b':
          v += '\b';
          break;
        case 'f':
          v += '\f';
          break;
        case 'n':
          v += '\n';
          break;
        case 'r':
          v += '\r';
          break;
        case 't':
          v += '\t';
          break;
        case 'v':
          v += '\v';
          break;
        case '\\':
        case '"':
        case "'":
          v += n;
          break;
        case 'x':
          v += String.fromCharCode(parseInt(hexAt(2), 16));
          break;
        case 'u':
          v += String.fromCodePoint(parseInt(hexAt(4), 16));
          break;
        case 'U':
          v += String.fromCodePoint(parseInt(hexAt(8), 16));
          break;
        default:
          if (n !== undefined && /[0-7]/.test(n)) {
            const oct = s.slice(i - 1, i + 2);
            if (!/^[0-7]{3}$/.test(oct)) fail('invalid octal escape');
            v += String.fromCharCode(parseInt(oct, 8));
            i += 2;
          } else fail(`unknown escape sequence \\${n ?? ''}`);
      }
    }
    if (i >= s.length) fail('unterminated quoted string');
    i++;
    return v;
  }
  function hexAt(n: number): string {
    const h = s.slice(i, i + n);
    if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) fail('invalid escape');
    i += n;
    return h;
  }
}

/** `(?flags:X)` spanning the whole regex → `(?flags)X` (JS has no inline flag groups in Node 20). */
function liftInlineFlagGroup(re: string): string {
  const m = /^\(\?([ims]+):(.*)\)$/s.exec(re);
  if (m === null) return re;
  // Only when the group really spans the whole expression (balanced inside).
  let depth = 0;
  const body = m[2] as string;
  for (let k = 0; k < body.length; k++) {
    const c = body[k];
    if (c === '\\') {
      k++;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return re;
  }
  return depth === 0 ? `(?${m[1]})${body}` : re;
}
