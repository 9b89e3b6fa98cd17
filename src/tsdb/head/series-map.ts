/**
 * The head's series map: label set → series and ref → series, plus the string
 * interning table that lets 100k series share one copy of "__name__", "job", ….
 *
 * ```
 *   buckets: (S | null)[]          buckets[hash & mask]: S ─hashNext→ S' ─hashNext→ null
 *                                  (power-of-two table, at most one series per bucket on
 *                                  average; chains threaded through the series)
 *   slots:  (S | undefined)[]      slots[ref - base]: refs are a counter, so a dense array
 *                                  beats a Map (no hashing, one indexed load per sample)
 *   strings: Map<string, string>   canonical instance of every label name/value in use
 * ```
 *
 * Why a numeric hash and not `Labels.key()` as a key: a joined key string costs
 * ~100–200 bytes per series for the life of the series, more than the series' labels.
 * Why our own bucket table and not a `Map<hash, S>`: a Map entry costs ~40 bytes per
 * series (entry of key, value and chain link plus its hash table), a bucket 8–16. A
 * chain holds the series of one bucket: a lookup compares the 30-bit hash first and
 * the label sets only on equal hashes (≈ n²/2³¹ colliding pairs, a few hundred at 1M
 * series).
 *
 * Interning: label strings from a scrape may be slices of a large response string;
 * keeping a slice alive keeps the whole response alive. `intern` stores a flattened copy
 * the first time a string is seen, and every series uses the canonical instance.
 * The table is rebuilt from the surviving series after garbage collection, so churned
 * label values do not accumulate.
 *
 * Cost of the dense ref table: 4 bytes per ref between the oldest live series and the
 * newest (holes left by garbage-collected series in between stay until the oldest goes);
 * leading and trailing holes are trimmed after each gc.
 */
import { Labels } from '../../storage/index.js';

/** Series fields the map needs; `MemSeries` implements it. */
export interface HashedSeries<S> {
  readonly ref: number;
  readonly lset: Labels;
  readonly hash: number;
  hashNext: S | null;
}

/**
 * FNV-1a over the label pairs (UTF-16 code units, with separators), folded to 30
 * bits so the result is a V8 small integer. Not cryptographic; collisions are handled.
 */
export function labelsHash(lset: Labels): number {
  const p = lset.pairs;
  let h = 0x811c9dc5;
  for (let i = 0; i < p.length; i++) {
    const s = p[i] as string;
    for (let j = 0; j < s.length; j++) {
      h ^= s.charCodeAt(j);
      h = Math.imul(h, 0x01000193);
    }
    // 0xff separator, as Prometheus's labels.seps: keeps ("ab","c") and ("a","bc") apart.
    h ^= 0xff;
    h = Math.imul(h, 0x01000193);
  }
  // Final avalanche (murmur3 fmix32) so the low bits we keep depend on every input bit.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 2;
}

/** Initial bucket table size (a power of two); the table doubles when series outnumber buckets. */
const MIN_BUCKETS = 1024;

export class SeriesMap<S extends HashedSeries<S>> {
  private buckets: (S | null)[];
  private mask: number;
  /** slots[ref - base] is the series with that ref, or undefined. */
  private slots: (S | undefined)[];
  private base: number;
  private count: number;
  private strings: Map<string, string>;

  constructor() {
    this.buckets = new Array<S | null>(MIN_BUCKETS).fill(null);
    this.mask = MIN_BUCKETS - 1;
    this.slots = [];
    this.base = 1;
    this.count = 0;
    this.strings = new Map();
  }

  get size(): number {
    return this.count;
  }

  getByRef(ref: number): S | undefined {
    // Refs are < 2^30 (checked in add); the guard keeps `| 0` from wrapping a bogus ref
    // into range. `| 0` keeps the index a small integer for V8's fast element access.
    if (!(ref < 1073741824)) return undefined;
    const i = (ref - this.base) | 0;
    return i >= 0 && i < this.slots.length ? this.slots[i] : undefined;
  }

  /** Looks a label set up; `hash` must be `labelsHash(lset)`. */
  getByLabels(hash: number, lset: Labels): S | undefined {
    let s = this.buckets[hash & this.mask] as S | null;
    while (s !== null) {
      if (s.hash === hash && s.lset.equals(lset)) return s;
      s = s.hashNext;
    }
    return undefined;
  }

  /** Adds a series not yet present (callers check with `getByLabels` first). */
  add(s: S): void {
    if (!(s.ref >= 1 && s.ref < 2 ** 30)) throw new RangeError(`series ref ${s.ref} outside 1..2^30`);
    const b = s.hash & this.mask;
    s.hashNext = this.buckets[b] as S | null;
    this.buckets[b] = s;
    if (this.count === 0) {
      // Empty table: start it at this ref, so a table emptied by gc does not pad up to it.
      this.slots = [];
      this.base = s.ref;
    } else if (s.ref < this.base) {
      // Only possible after trimming, for a ref replayed out of order: re-base.
      const pad = new Array<S | undefined>(this.base - s.ref).fill(undefined);
      this.slots = pad.concat(this.slots);
      this.base = s.ref;
    }
    const i = s.ref - this.base;
    while (this.slots.length <= i) this.slots.push(undefined);
    if (this.slots[i] === undefined) this.count++;
    this.slots[i] = s;
    if (this.count > this.buckets.length) this.resize(this.buckets.length * 2);
  }

  /** Rebuilds the bucket table with `n` buckets (a power of two). */
  private resize(n: number): void {
    const old = this.buckets;
    const nb = new Array<S | null>(n).fill(null);
    const mask = n - 1;
    for (let i = 0; i < old.length; i++) {
      let s = old[i] as S | null;
      while (s !== null) {
        const next = s.hashNext;
        const b = s.hash & mask;
        s.hashNext = nb[b] as S | null;
        nb[b] = s;
        s = next;
      }
    }
    this.buckets = nb;
    this.mask = mask;
  }

  /** Removes a series from both indexes. */
  remove(s: S): void {
    const i = s.ref - this.base;
    if (i >= 0 && i < this.slots.length && this.slots[i] === s) {
      this.slots[i] = undefined;
      this.count--;
    }
    const b = s.hash & this.mask;
    let cur = this.buckets[b] as S | null;
    if (cur === null) return;
    if (cur === s) {
      this.buckets[b] = s.hashNext;
      s.hashNext = null;
      return;
    }
    while (cur.hashNext !== null) {
      if (cur.hashNext === s) {
        cur.hashNext = s.hashNext;
        s.hashNext = null;
        return;
      }
      cur = cur.hashNext;
    }
  }

  /** Iterates series in ascending ref order. Removing the current series while iterating is safe. */
  *values(): IterableIterator<S> {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i];
      if (s !== undefined) yield s;
    }
  }

  /** Drops leading and trailing holes of the ref table and shrinks the bucket table to fit (after garbage collection). */
  trim(): void {
    let n = this.buckets.length;
    while (n > MIN_BUCKETS && this.count <= n / 4) n /= 2;
    if (n !== this.buckets.length) this.resize(n);
    const slots = this.slots;
    let lo = 0;
    while (lo < slots.length && slots[lo] === undefined) lo++;
    let hi = slots.length;
    while (hi > lo && slots[hi - 1] === undefined) hi--;
    if (lo === 0 && hi === slots.length) return;
    this.slots = slots.slice(lo, hi);
    this.base += lo;
  }

  /**
   * Returns a label set whose strings are the canonical interned instances; `lset`
   * itself when it already is (the common case after the first scrape).
   */
  intern(lset: Labels): Labels {
    const p = lset.pairs;
    let out: string[] | null = null;
    for (let i = 0; i < p.length; i++) {
      const s = p[i] as string;
      let c = this.strings.get(s);
      if (c === undefined) {
        c = flatCopy(s);
        this.strings.set(c, c);
      }
      if (c !== s && out === null) out = p.slice(0, i);
      if (out !== null) out.push(c);
    }
    return out === null ? lset : Labels.fromSortedFlat(out);
  }

  /** Number of distinct interned strings. */
  numStrings(): number {
    return this.strings.size;
  }

  /** Rebuilds the interning table from the series present now (after gc). */
  rebuildStrings(): void {
    const m = new Map<string, string>();
    for (const s of this.values()) {
      const p = s.lset.pairs;
      for (let i = 0; i < p.length; i++) m.set(p[i] as string, p[i] as string);
    }
    this.strings = m;
  }
}

/**
 * A copy of `s` that shares no storage with a parent string. V8 keeps substrings and
 * concatenations as views onto their parents; going through UTF-8 bytes produces a
 * fresh sequential string. Done once per distinct string, never per sample.
 */
function flatCopy(s: string): string {
  if (s.length <= 12) return s; // V8 copies short substrings rather than slicing them.
  return Buffer.from(s, 'utf8').toString('utf8');
}
