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

/** Decoded (unescaped) value of label `k`. */
export function labelValue(p: LabelOffsets, dec: Decoders, k: number): string {
  const o = p.offs;
  const vs = o[4 * k + 2]!;
  const ve = o[4 * k + 3]!;
  const f = p.flags[k]!;
  if ((f & 1) !== 0) return unescapeToString(p.b, vs, ve, false, utf8OfScratch);
  if ((f & 2) !== 0) return dec.utf8Slice(vs, ve);
  return dec.latin1Slice(vs, ve);
}

/** Name of label `k` (ASCII by the lexer's rules). */
export function labelName(p: LabelOffsets, dec: Decoders, k: number): string {
  return dec.latin1Slice(p.offs[4 * k]!, p.offs[4 * k + 1]!);
}

/** Resets `sink` and sets `__name__` plus every label, as written. */
export function setLabels(p: LabelOffsets, dec: Decoders, sink: LabelSink): void {
  sink.reset();
  sink.set('__name__', dec.latin1Slice(p.start, p.nameEnd));
  for (let a = 0; a < p.nLabels; a++) sink.set(labelName(p, dec, a), labelValue(p, dec, a));
}
