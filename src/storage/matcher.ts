/**
 * Label matchers with Prometheus semantics: `=`, `!=`, `=~`, `!~`.
 *
 * Regexes are fully anchored (`^(?:re)$`) as Prometheus does (model/labels/regexp.go).
 * An absent label matches as the empty string, so `{foo=""}` selects series without
 * `foo`, and `{foo!~".+"}` too.
 *
 * JS RegExp vs Go RE2 (what Prometheus 2.42 uses): translated in `translateRE2`:
 *  - RE2 `\z` (end of text) → `$` (there is no multiline flag, so `$` is end of input);
 *  - `(?P<name>…)` → `(?<name>…)`;
 *  - `\Q…\E` literal spans → escaped text;
 *  - inline flags `(?i)` at the very start → the `i` flag; other inline flags are rejected.
 *  - RE2 `.` does not match `\n` (2.42 does not add the `s` flag), same as JS without `s`.
 * Constructs RE2 rejects (backreferences, lookaround) are rejected here too, so a
 * selector Prometheus refuses is refused by us.
 */
export const MatchType = {
  Equal: 0,
  NotEqual: 1,
  Regexp: 2,
  NotRegexp: 3,
} as const;
export type MatchType = (typeof MatchType)[keyof typeof MatchType];

const OP: Record<MatchType, string> = { 0: '=', 1: '!=', 2: '=~', 3: '!~' };

export class MatcherError extends Error {
  readonly code = 'MM_ERR_BAD_MATCHER';
}

export class Matcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
  private readonly re: RegExp | null;

  constructor(type: MatchType, name: string, value: string) {
    this.type = type;
    this.name = name;
    this.value = value;
    this.re = type === MatchType.Regexp || type === MatchType.NotRegexp ? compileAnchored(value) : null;
  }

  static equal(name: string, value: string): Matcher {
    return new Matcher(MatchType.Equal, name, value);
  }

  matches(s: string): boolean {
    switch (this.type) {
      case MatchType.Equal:
        return s === this.value;
      case MatchType.NotEqual:
        return s !== this.value;
      case MatchType.Regexp:
        return (this.re as RegExp).test(s);
      case MatchType.NotRegexp:
        return !(this.re as RegExp).test(s);
    }
  }

  /** True when the matcher accepts the empty string (i.e. also series lacking the label). */
  matchesEmpty(): boolean {
    return this.matches('');
  }

  /** For `=~` matchers that are a plain alternation of literals (`a|b|c`), the literals; else null. */
  setMatches(): string[] | null {
    if (this.type !== MatchType.Regexp) return null;
    if (!/^[a-zA-Z0-9_:\- ]+(\|[a-zA-Z0-9_:\- ]+)*$/.test(this.value)) return null;
    return this.value.split('|');
  }

  toString(): string {
    return `${this.name}${OP[this.type]}${JSON.stringify(this.value)}`;
  }
}

/** Anchored, RE2-compatible compile; throws MatcherError naming the regex on failure. */
export function compileAnchored(re: string): RegExp {
  const { source, flags } = translateRE2(re);
  try {
    return new RegExp('^(?:' + source + ')$', flags);
  } catch (e) {
    throw new MatcherError(`invalid regular expression ${JSON.stringify(re)}: ${(e as Error).message}`);
  }
}

export function translateRE2(re: string): { source: string; flags: string } {
  let flags = 'u';
  let src = re;
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    for (const f of lead[1] as string) {
      if (f === 'i') flags += 'i';
      else if (f === 's') flags += 's';
      else if (f === 'm') flags += 'm';
      else throw new MatcherError(`unsupported regex flag ${f} in ${JSON.stringify(re)}`);
    }
    src = src.slice(lead[0].length);
  }
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) throw new MatcherError(`invalid regex ${JSON.stringify(re)}: trailing backslash`);
      if (n === 'Q') {
        const end = src.indexOf('\\E', i + 2);
        const lit = end < 0 ? src.slice(i + 2) : src.slice(i + 2, end);
        out += lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
        i = end < 0 ? src.length : end + 1;
        continue;
      }
      if (n === 'z') {
        out += '$';
        i++;
        continue;
      }
      if (/[1-9]/.test(n)) throw new MatcherError(`invalid regex ${JSON.stringify(re)}: backreferences are not supported`);
      out += c + n;
      i++;
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      if (src[i + 2] === 'P' && src[i + 3] === '<') {
        out += '(?<';
        i += 3;
        continue;
      }
      if (src[i + 2] === '=' || src[i + 2] === '!' || (src[i + 2] === '<' && (src[i + 3] === '=' || src[i + 3] === '!'))) {
        throw new MatcherError(`invalid regex ${JSON.stringify(re)}: lookaround is not supported`);
      }
    }
    out += c;
  }
  return { source: out, flags };
}
