/**
 * Label sets inside records: `uvarint n`, then n × (`str name`, `str value`),
 * sorted by name (series and exemplar records share it).
 */
import type { Decbuf, Encbuf } from '../encoding/index.js';
import { Labels, compareStrings } from '../../storage/index.js';

/** Writes `lset` (already sorted, as every `Labels` is). */
export function putLabels(out: Encbuf, lset: Labels): void {
  const p = lset.pairs;
  out.putUvarint(p.length >>> 1);
  for (let i = 0; i < p.length; i++) out.putUvarintStr(p[i] as string);
}

/**
 * Reads one label set. Prometheus writes them sorted; if a foreign writer did
 * not, the set is sorted here (cheap check) rather than trusted blindly.
 * Returns `Labels.EMPTY` on a decode error (the Decbuf's sticky error says why).
 */
export function readLabels(d: Decbuf): Labels {
  const n = d.uvarint();
  if (n === 0 || d.err !== null) return Labels.EMPTY;
  // Every pair takes at least 2 bytes: refuse absurd counts before allocating.
  if (n * 2 > d.len()) {
    d.skip(d.len() + 1);
    return Labels.EMPTY;
  }
  const flat = new Array<string>(2 * n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    const name = d.uvarintStr();
    flat[2 * i] = name;
    flat[2 * i + 1] = d.uvarintStr();
    if (i > 0 && compareStrings(flat[2 * i - 2] as string, name) >= 0) sorted = false;
  }
  if (d.err !== null) return Labels.EMPTY;
  return sorted ? Labels.fromSortedFlat(flat) : Labels.fromPairs(...flat);
}
