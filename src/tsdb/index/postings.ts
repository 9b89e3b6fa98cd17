/**
 * Postings helpers: a postings list is an ascending `Uint32Array` of series IDs.
 *
 * Prometheus models postings as lazy iterators (`index.Postings`); block indexes of
 * the size mm-metrics handles fit comfortably in memory, and typed arrays make
 * intersection and union simple linear merges without per-element objects.
 */

export const EMPTY_POSTINGS: Uint32Array = new Uint32Array(0);

/** Intersection of ascending lists (Go `index.Intersect`). No lists → empty. */
export function intersectPostings(...lists: Uint32Array[]): Uint32Array {
  if (lists.length === 0) return EMPTY_POSTINGS;
  // Smallest first keeps the work proportional to the rarest label.
  const sorted = [...lists].sort((a, b) => a.length - b.length);
  let acc = sorted[0] as Uint32Array;
  for (let k = 1; k < sorted.length && acc.length > 0; k++) acc = intersect2(acc, sorted[k] as Uint32Array);
  return acc;
}

function intersect2(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x === y) {
      out[n++] = x;
      i++;
      j++;
    } else if (x < y) {
      // Gallop: skip ahead in a when b is far ahead (long list vs short list).
      i = seekFrom(a, i + 1, y);
    } else {
      j = seekFrom(b, j + 1, x);
    }
  }
  return out.subarray(0, n);
}

/** First index >= from with a[idx] >= v (exponential then binary search). */
function seekFrom(a: Uint32Array, from: number, v: number): number {
  let lo = from;
  let step = 1;
  let hi = from;
  while (hi < a.length && (a[hi] as number) < v) {
    lo = hi + 1;
    hi += step;
    step *= 2;
  }
  if (hi > a.length) hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if ((a[m] as number) < v) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** Union of ascending lists without duplicates (Go `index.Merge`). */
export function mergePostings(...lists: Uint32Array[]): Uint32Array {
  const ls = lists.filter((l) => l.length > 0);
  if (ls.length === 0) return EMPTY_POSTINGS;
  if (ls.length === 1) return ls[0] as Uint32Array;
  let total = 0;
  for (const l of ls) total += l.length;
  const all = new Uint32Array(total);
  let o = 0;
  for (const l of ls) {
    all.set(l, o);
    o += l.length;
  }
  all.sort();
  let n = 0;
  for (let i = 0; i < all.length; i++) {
    if (n === 0 || all[i] !== all[n - 1]) all[n++] = all[i] as number;
  }
  return all.subarray(0, n);
}

/** Elements of `full` not in `drop` (Go `index.Without`). */
export function withoutPostings(full: Uint32Array, drop: Uint32Array): Uint32Array {
  if (drop.length === 0 || full.length === 0) return full;
  const out = new Uint32Array(full.length);
  let j = 0;
  let n = 0;
  for (let i = 0; i < full.length; i++) {
    const x = full[i] as number;
    while (j < drop.length && (drop[j] as number) < x) j++;
    if (j < drop.length && drop[j] === x) continue;
    out[n++] = x;
  }
  return out.subarray(0, n);
}
