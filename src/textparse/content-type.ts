/**
 * Which parser Prometheus 2.42 picks for a scrape response (model/textparse
 * interface.go `New`): it runs Go's `mime.ParseMediaType` on the Content-Type and
 * switches on the media type alone; the `version=` parameter is never consulted,
 * and any parse error (including in parameters) falls back to the 0.0.4 parser.
 *
 * This module reproduces the parts of Go's (1.19, what Debian's 2.42 is built with)
 * ParseMediaType that decide between "error" and "media type X": the base before
 * the first `;`, lower-cased and trimmed of Unicode white space, then the
 * `; key=value` parameters (tokens or quoted strings), a trailing `;` tolerated,
 * and repeated parameter names rejected.
 */

/** The media types Prometheus 2.42 switches on. */
export const MediaType = {
  PromText: 0,
  OpenMetrics: 1,
  Protobuf: 2,
} as const;
export type MediaType = (typeof MediaType)[keyof typeof MediaType];

const TSPECIALS = '()<>@,;:\\"/[]?=';

function isTokenChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && TSPECIALS.indexOf(String.fromCharCode(c)) < 0;
}

/** Go `unicode.IsSpace`. */
function isSpace(c: number): boolean {
  if (c <= 0xff) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x85 || c === 0xa0;
  return c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

function trimLeftSpace(s: string): string {
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return s.slice(i);
}

function trimSpace(s: string): string {
  let e = s.length;
  while (e > 0 && isSpace(s.charCodeAt(e - 1))) e--;
  return trimLeftSpace(s.slice(0, e));
}

/** Go `consumeToken`: the longest prefix of token chars. */
function consumeToken(v: string): [string, string] {
  let i = 0;
  while (i < v.length && isTokenChar(v.charCodeAt(i))) i++;
  return [v.slice(0, i), v.slice(i)];
}

/** Go `consumeValue`: a token or a quoted-string; ['', v] when neither. */
function consumeValue(v: string): [string, string] {
  if (v === '') return ['', v];
  if (v[0] !== '"') return consumeToken(v);
  let out = '';
  for (let i = 1; i < v.length; i++) {
    const r = v[i]!;
    if (r === '"') return [out, v.slice(i + 1)];
    if (r === '\\' && i + 1 < v.length && TSPECIALS.includes(v[i + 1]!)) {
      out += v[i + 1];
      i++;
      continue;
    }
    if (r === '\r' || r === '\n') return ['', v];
    out += r;
  }
  return ['', v];
}

/** Go `consumeMediaParam`: `; key = value`, or ['', '', v] when not one. */
function consumeMediaParam(v: string): [string, string, string] {
  let rest = trimLeftSpace(v);
  if (!rest.startsWith(';')) return ['', '', v];
  rest = trimLeftSpace(rest.slice(1));
  let param: string;
  [param, rest] = consumeToken(rest);
  param = param.toLowerCase();
  if (param === '') return ['', '', v];
  rest = trimLeftSpace(rest);
  if (!rest.startsWith('=')) return ['', '', v];
  rest = trimLeftSpace(rest.slice(1));
  const [value, rest2] = consumeValue(rest);
  if (value === '' && rest2 === rest) return ['', '', v];
  return [param, value, rest2];
}

/**
 * HTTP header values reach us as one char per byte (Node decodes them as latin1);
 * Go sees the same bytes as UTF-8. Re-decode so Unicode white space trims alike.
 */
function asGoString(v: string): string {
  for (let i = 0; i < v.length; i++) {
    if (v.charCodeAt(i) > 0xff) return v;
  }
  return Buffer.from(v, 'latin1').toString('utf8');
}

/**
 * Go `mime.ParseMediaType(v)` reduced to what Prometheus uses: the lower-cased
 * media type, or null when Go would return an error.
 */
export function goParseMediaType(header: string): string | null {
  const v0 = asGoString(header);
  const semi = v0.indexOf(';');
  const base = semi < 0 ? v0 : v0.slice(0, semi);
  // Go's ToLower is the simple per-rune mapping; JS's full mapping differs only
  // for U+0130 (İ → "i̇" instead of "i").
  const mediatype = trimSpace(base.replace(/\u0130/g, 'i').toLowerCase());
  // checkMediaTypeDisposition
  const [typ, rest0] = consumeToken(mediatype);
  if (typ === '') return null;
  if (rest0 !== '') {
    if (!rest0.startsWith('/')) return null;
    const [sub, rest1] = consumeToken(rest0.slice(1));
    if (sub === '' || rest1 !== '') return null;
  }
  const seen = new Set<string>();
  let v = v0.slice(base.length);
  while (v.length > 0) {
    v = trimLeftSpace(v);
    if (v.length === 0) break;
    const [key, , rest] = consumeMediaParam(v);
    if (key === '') {
      if (trimSpace(rest) === ';') break;
      return null;
    }
    // Go keeps RFC 2231 `name*…` keys in a separate map, but a key with `*` can
    // never equal one without, so one set detects the same repeats.
    if (seen.has(key)) return null;
    seen.add(key);
    v = rest;
  }
  return mediatype;
}

/** The parser 2.42 would use for a response with this Content-Type (null = header absent). */
export function mediaTypeOf(contentType: string | null): MediaType {
  if (contentType === null || contentType === '') return MediaType.PromText;
  const mt = goParseMediaType(contentType);
  if (mt === 'application/openmetrics-text') return MediaType.OpenMetrics;
  if (mt === 'application/vnd.google.protobuf') return MediaType.Protobuf;
  return MediaType.PromText;
}
