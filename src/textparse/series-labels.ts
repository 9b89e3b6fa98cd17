/**
 * Turning a parsed sample's label offsets into label strings.
 *
 * Both 2.42 parsers emit every pair as written; what happens to empty values and
 * repeated names is decided later (observed on a real 2.42):
 *
 *   foo{a="",a="1"} 1   → stored as foo{}     (the scrape loop's labels.Builder drops
 *   foo{a="1",a=""} 1   → stored as foo{}      *every* pair whose name has an empty
 *   foo{a=""} 1         → stored as foo{}      value somewhere in the set)
 *   foo{a="1",a="2"} 1  → scrape fails: label name "a" is not unique (head appender)
 *   foo{__name__="x"} 1 → scrape fails: label name "__name__" is not unique
 *   foo{__name__=""} 1  → scrape fails: missing metric name (scrape loop)
 *
 * so `setLabels` passes them all through and the scrape layer applies those rules.
 */
import type { LabelSink } from './parser.js';
import { unescapeToString } from './lex.js';
import { nativeView } from './utf8.js';

/** What a parser exposes about the current sample for label extraction. */
export interface LabelOffsets {
  readonly b: Uint8Array;
  /** start of the metric name (for 0.0.4: of the line, leading blanks included) */
  start: number;
  nameEnd: number;
  nLabels: number;
  /** 4 per label: name start, name end, value start, value end */
  offs: Int32Array;
  /** per label: 1 = value has a backslash, 2 = value has a byte ≥ 0x80 */
  flags: Uint8Array;
}

/** Decoders of the body buffer. */
export interface Decoders {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

const utf8OfScratch = (u: Uint8Array, s: number, e: number): string => nativeView(u).utf8Slice(s, e);

/**
 * Interning of short ASCII strings (label names, common values, metric names):
 * a direct-mapped table keyed by FNV-1a of the bytes. A hit returns the cached
 * string after comparing it byte by byte, so the common case of a scrape, where
 * the same few hundred names and values repeat, decodes without allocating.
 * Module-level and bounded (INTERN_SLOTS strings of at most INTERN_MAX chars);
 * a collision simply replaces the slot.
 */
const INTERN_SLOTS = 4096;
const INTERN_MAX = 48;
const interned: string[] = new Array<string>(INTERN_SLOTS).fill('');

/** latin1 decode of b[s, e) through the intern table (bytes must be ASCII for UTF-8 equality). */
export function internAscii(b: Uint8Array, dec: Decoders, s: number, e: number): string {
  const n = e - s;
  if (n === 0) return '';
  if (n > INTERN_MAX) return dec.latin1Slice(s, e);
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  const slot = (h >>> 0) & (INTERN_SLOTS - 1);
  const cand = interned[slot]!;
  if (cand.length === n) {
    let i = 0;
    while (i < n && cand.charCodeAt(i) === b[s + i]) i++;
    if (i === n) return cand;
  }
  const str = dec.latin1Slice(s, e);
  interned[slot] = str;
  return str;
}

/** Decoded (unescaped) value of label `k`. */
export function labelValue(p: LabelOffsets, dec: Decoders, k: number): string {
  const o = p.offs;
  const vs = o[4 * k + 2]!;
  const ve = o[4 * k + 3]!;
  const f = p.flags[k]!;
  if ((f & 1) !== 0) return unescapeToString(p.b, vs, ve, false, utf8OfScratch);
  if ((f & 2) !== 0) return dec.utf8Slice(vs, ve);
  return internAscii(p.b, dec, vs, ve);
}

/** Name of label `k` (ASCII by the lexer's rules). */
export function labelName(p: LabelOffsets, dec: Decoders, k: number): string {
  return internAscii(p.b, dec, p.offs[4 * k]!, p.offs[4 * k + 1]!);
}

/** Resets `sink` and sets `__name__` plus every label, as written. */
export function setLabels(p: LabelOffsets, dec: Decoders, sink: LabelSink): void {
  sink.reset();
  sink.set('__name__', internAscii(p.b, dec, p.start, p.nameEnd));
  for (let a = 0; a < p.nLabels; a++) sink.set(labelName(p, dec, a), labelValue(p, dec, a));
}
