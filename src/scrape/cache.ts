/**
 * Per-target scrape cache (Prometheus scrape.go `scrapeCache`), built so that a
 * repeated scrape neither allocates strings nor re-parses labels.
 *
 * Two tables share one generation counter `iter` (Prometheus's `cache.iter`):
 *
 *  1. Series entries, keyed by the raw series bytes as exposed
 *     (`http_requests_total{code="200"}`), holding the storage ref, the final Labels
 *     and the staleness id. Open addressing with linear probing over an Int32Array;
 *     the keys live back to back in one byte arena; every other field is a typed
 *     array indexed by entry number (struct of arrays, no object per entry):
 *
 *        slots  [ 0 | 3 | 0 | 1 | 2 | 0 … ]   entry index + 1, 0 = empty
 *                     │       │   │
 *        entry   0: hash keyOff keyLen ref lastIter staleId lset
 *                1: …
 *        arena  [ key0 bytes | key1 bytes | … ]
 *
 *     Entries are only deleted in `iterDone(flush)`, which then rebuilds table and
 *     arena in one pass (deletions are rare in steady state: series churn only).
 *
 *  2. Staleness ids, one per *exposed* label set (hashed as Prometheus hashes
 *     `lset.Hash()` before target labels are added), with the final Labels to write
 *     a stale marker for. `marks[id]` is the generation in which the id was last
 *     tracked, which encodes Prometheus's `seriesCur`/`seriesPrev` maps without a
 *     map write per sample:  in cur ⇔ marks[id] == iter;  stale ⇔ marks[id] == iter-1.
 *
 * The exposed-label-set key is a 53-bit hash (two 32-bit FNV variants); Prometheus
 * uses a 64-bit hash the same way and accepts the same (negligible) collision risk:
 * a collision can only suppress one stale marker.
 *
 * 3. Scrape order: `nextE[e]` is the entry that followed `e` in the previous scrape
 *    (`firstE` the first one). Targets expose their series in the same order every
 *    time, so `predicted()` nearly always names the entry the parser is about to
 *    meet; the parser compares those key bytes in place (`expectSeries`) and on a
 *    match skips tokenizing the label list, and the lookup skips hashing (`hit`).
 *    A wrong prediction only costs the compare; the hash lookup follows as before.
 *
 * Single scrape loop only; not reentrant.
 */
import type { Labels, SeriesRef } from '../storage/index.js';

const INITIAL_ENTRIES = 64;

export class ScrapeCache {
  /** Generation counter; incremented by `iterDone`. */
  iter: number;

  // ── series entries ────────────────────────────────────────────────────────
  private slots: Int32Array;
  private mask: number;
  private n: number;
  private hashes: Int32Array;
  private keyOffs: Int32Array;
  private keyLens: Int32Array;
  private refs: Float64Array;
  private lastIters: Int32Array;
  private staleIds: Int32Array;
  private lsets: Array<Labels | null>;
  /** Scrape-order successor of each entry (-1 none), the first entry, and the entry met last in this scrape. */
  private nextE: Int32Array;
  private firstE: number;
  private prevE: number;
  private arena: Uint8Array;
  /** DataView over `arena` for 4-byte compares; rebuilt with the arena. */
  private arenaView: DataView;
  private arenaLen: number;
  /** The body last looked up in and a DataView over it (one per scrape, not per sample). */
  private lastBuf: Uint8Array | null;
  private lastView: DataView;
  /** Entry count after the last successful scrape (Prometheus `successfulCount`). */
  private successfulCount: number;

  // ── staleness ids ─────────────────────────────────────────────────────────
  private idByHash: Map<number, number>;
  private idHashes: Float64Array;
  private marks: Int32Array;
  private refCounts: Int32Array;
  private idLsets: Array<Labels | null>;
  private idTop: number;
  private freeIds: number[];

  constructor() {
    this.iter = 1;
    this.slots = new Int32Array(INITIAL_ENTRIES * 2);
    this.mask = this.slots.length - 1;
    this.n = 0;
    this.hashes = new Int32Array(INITIAL_ENTRIES);
    this.keyOffs = new Int32Array(INITIAL_ENTRIES);
    this.keyLens = new Int32Array(INITIAL_ENTRIES);
    this.refs = new Float64Array(INITIAL_ENTRIES);
    this.lastIters = new Int32Array(INITIAL_ENTRIES);
    this.staleIds = new Int32Array(INITIAL_ENTRIES);
    this.lsets = [];
    this.nextE = new Int32Array(INITIAL_ENTRIES).fill(-1);
    this.firstE = -1;
    this.prevE = -1;
    this.arena = new Uint8Array(INITIAL_ENTRIES * 64);
    this.arenaView = new DataView(this.arena.buffer);
    this.arenaLen = 0;
    this.lastBuf = null;
    this.lastView = this.arenaView;
    this.successfulCount = 0;
    this.idByHash = new Map();
    this.idHashes = new Float64Array(INITIAL_ENTRIES);
    this.marks = new Int32Array(INITIAL_ENTRIES);
    this.refCounts = new Int32Array(INITIAL_ENTRIES);
    this.idLsets = [];
    this.idTop = 0;
    this.freeIds = [];
  }

  /** Number of series entries. */
  get size(): number {
    return this.n;
  }

  /** Number of live staleness ids (for tests and memory checks). */
  get staleIdCount(): number {
    return this.idTop - this.freeIds.length;
  }

  /**
   * Looks up the series whose exposed bytes are `buf[start, end)`. Returns the entry
   * index or -1, and marks a hit as seen in this generation. Allocation-free.
   */
  get(buf: Uint8Array, start: number, end: number): number {
    if (buf !== this.lastBuf) {
      this.lastBuf = buf;
      this.lastView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const view = this.lastView;
    const len = end - start;
    // Scrape order first: the entry that came next last time, compared without hashing.
    const pe = this.prevE < 0 ? this.firstE : this.nextE[this.prevE]!;
    if (pe >= 0 && this.keyLens[pe] === len && viewsEqual(this.arenaView, this.keyOffs[pe]!, view, start, len)) {
      this.lastIters[pe] = this.iter;
      this.prevE = pe;
      return pe;
    }
    const h = hashView(view, start, end);
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const s = slots[i]!;
      if (s === 0) return -1;
      const e = s - 1;
      if (this.hashes[e] === h && this.keyLens[e] === len && viewsEqual(this.arenaView, this.keyOffs[e]!, view, start, len)) {
        this.lastIters[e] = this.iter;
        this.link(e);
        return e;
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * Adds an entry for `buf[start, end)` (caller checked it is absent). Like
   * Prometheus's `addRef`, a zero ref is not cached. Returns the entry or -1.
   */
  add(buf: Uint8Array, start: number, end: number, ref: SeriesRef, lset: Labels, staleId: number): number {
    if (ref === 0) return -1;
    const len = end - start;
    if (this.n === this.hashes.length) this.growEntries();
    if ((this.n + 1) * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    if (this.arenaLen + len > this.arena.length) this.growArena(len);
    const e = this.n++;
    const h = hashBytes(buf, start, end);
    this.arena.set(buf.subarray(start, end), this.arenaLen);
    this.hashes[e] = h;
    this.keyOffs[e] = this.arenaLen;
    this.keyLens[e] = len;
    this.arenaLen += len;
    this.refs[e] = ref;
    this.lastIters[e] = this.iter;
    this.staleIds[e] = staleId;
    this.lsets[e] = lset;
    if (staleId >= 0) this.refCounts[staleId]!++;
    this.nextE[e] = -1;
    this.insertSlot(e, h);
    this.link(e);
    return e;
  }

  /**
   * The entry expected next in scrape order (the successor of the entry met last,
   * as of the previous scrape), or -1. Its key is `keyView()[keyOffset(e), +keyLength(e))`.
   */
  predicted(): number {
    return this.prevE < 0 ? this.firstE : this.nextE[this.prevE]!;
  }

  /** DataView over the key arena (invalid after the next `add`). */
  keyView(): DataView {
    return this.arenaView;
  }

  keyOffset(e: number): number {
    return this.keyOffs[e]!;
  }

  keyLength(e: number): number {
    return this.keyLens[e]!;
  }

  /**
   * Records a lookup of entry `e` that the caller already matched byte for byte
   * (the parser confirmed `predicted()`): `get` without hashing. Returns `e`.
   */
  hit(e: number): number {
    this.lastIters[e] = this.iter;
    this.link(e);
    return e;
  }

  /** Remembers that `e` followed the previously met entry in this scrape. */
  private link(e: number): void {
    if (this.prevE < 0) this.firstE = e;
    else this.nextE[this.prevE] = e;
    this.prevE = e;
  }

  ref(e: number): SeriesRef {
    return this.refs[e]!;
  }

  setRef(e: number, ref: SeriesRef): void {
    if (ref !== 0) this.refs[e] = ref;
  }

  lset(e: number): Labels {
    return this.lsets[e]!;
  }

  staleId(e: number): number {
    return this.staleIds[e]!;
  }

  /**
   * The staleness id of an exposed label set (53-bit hash), created on first use
   * with `lset` as the labels its stale marker will carry.
   */
  staleIdFor(hash53: number, lset: Labels): number {
    let id = this.idByHash.get(hash53);
    if (id !== undefined) {
      // Prometheus's seriesCur[hash] = lset: the newest final labels win.
      this.idLsets[id] = lset;
      return id;
    }
    id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.idTop++;
    if (id >= this.marks.length) this.growIds();
    this.idByHash.set(hash53, id);
    this.idHashes[id] = hash53;
    // Never tracked: must not look like "tracked in the previous generation" (iter − 1 ≥ 0).
    this.marks[id] = -1;
    this.refCounts[id] = 0;
    this.idLsets[id] = lset;
    return id;
  }

  /** The staleness id of an exposed label set if it has one, else -1 (never creates). */
  findStaleId(hash53: number): number {
    return this.idByHash.get(hash53) ?? -1;
  }

  /** Records that the series with this id was appended in the current generation. */
  trackStaleness(id: number): void {
    this.marks[id] = this.iter;
  }

  /**
   * Calls `f(lset)` for every id tracked in the previous generation and not in
   * this one (Prometheus `forEachStale`); stops when `f` returns false.
   */
  forEachStale(f: (lset: Labels) => boolean): void {
    const prev = this.iter - 1;
    const marks = this.marks;
    for (let id = 0; id < this.idTop; id++) {
      if (marks[id] === prev && this.idLsets[id] !== null) {
        if (!f(this.idLsets[id]!)) return;
      }
    }
  }

  /**
   * Ends a generation (Prometheus `iterDone`). With `flush` (a non-empty scrape),
   * entries not seen in this generation are dropped; without, a flush is forced when
   * the cache more than doubled since the last successful scrape (+1000), so targets
   * whose failing scrapes keep changing labels cannot grow it forever.
   */
  iterDone(flush: boolean): void {
    if (flush) this.successfulCount = this.n;
    else if (this.n > this.successfulCount * 2 + 1000) flush = true;
    if (flush) {
      let dead = 0;
      for (let e = 0; e < this.n; e++) if (this.lastIters[e] !== this.iter) dead++;
      if (dead > 0) this.compact();
    }
    this.iter++;
    this.prevE = -1;
    this.collectIds();
    // Release the body this scrape looked up in.
    this.lastBuf = null;
    this.lastView = this.arenaView;
  }

  /** Drops entries not seen in this generation; rebuilds slots and arena. */
  private compact(): void {
    let w = 0;
    let arenaW = 0;
    const arena = this.arena;
    // Old entry index → new index (-1 dropped), to renumber the scrape-order links.
    const remap = new Int32Array(this.n);
    for (let e = 0; e < this.n; e++) {
      if (this.lastIters[e] !== this.iter) {
        const id = this.staleIds[e]!;
        if (id >= 0) this.refCounts[id]!--;
        remap[e] = -1;
        continue;
      }
      remap[e] = w;
      const off = this.keyOffs[e]!;
      const len = this.keyLens[e]!;
      if (off !== arenaW) arena.copyWithin(arenaW, off, off + len);
      this.hashes[w] = this.hashes[e]!;
      this.keyOffs[w] = arenaW;
      this.keyLens[w] = len;
      this.refs[w] = this.refs[e]!;
      this.lastIters[w] = this.lastIters[e]!;
      this.staleIds[w] = this.staleIds[e]!;
      this.lsets[w] = this.lsets[e]!;
      this.nextE[w] = this.nextE[e]!;
      arenaW += len;
      w++;
    }
    for (let e = 0; e < w; e++) {
      const nx = this.nextE[e]!;
      this.nextE[e] = nx >= 0 && nx < this.n ? remap[nx]! : -1;
    }
    this.firstE = this.firstE >= 0 && this.firstE < this.n ? remap[this.firstE]! : -1;
    this.prevE = -1;
    this.lsets.length = w;
    this.n = w;
    this.arenaLen = arenaW;
    // Shrink the table when most entries went away (e.g. a target's series set shrank).
    let cap = this.slots.length;
    while (cap > INITIAL_ENTRIES * 2 && w * 8 < cap) cap >>>= 1;
    this.rehash(cap);
  }

  /** Frees ids that are neither in the current nor the previous generation and unreferenced. */
  private collectIds(): void {
    const prev = this.iter - 1;
    for (let id = 0; id < this.idTop; id++) {
      if (this.idLsets[id] === null) continue;
      if (this.marks[id]! < prev && this.refCounts[id] === 0) {
        this.idByHash.delete(this.idHashes[id]!);
        this.idLsets[id] = null;
        this.freeIds.push(id);
      }
    }
  }

  private insertSlot(e: number, h: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = e + 1;
  }

  private rehash(cap: number): void {
    this.slots = new Int32Array(cap);
    this.mask = cap - 1;
    for (let e = 0; e < this.n; e++) this.insertSlot(e, this.hashes[e]!);
  }

  private growEntries(): void {
    const cap = this.hashes.length * 2;
    this.hashes = growI32(this.hashes, cap);
    this.keyOffs = growI32(this.keyOffs, cap);
    this.keyLens = growI32(this.keyLens, cap);
    this.lastIters = growI32(this.lastIters, cap);
    this.staleIds = growI32(this.staleIds, cap);
    const nx = new Int32Array(cap).fill(-1);
    nx.set(this.nextE);
    this.nextE = nx;
    const refs = new Float64Array(cap);
    refs.set(this.refs);
    this.refs = refs;
  }

  private growArena(extra: number): void {
    // By half, not double: the arena lives as long as the target and is filled once, on the
    // first scrape (a few more copies then; ~25 % less resident for the rest of its life).
    let cap = Math.ceil(this.arena.length * 1.5);
    while (cap < this.arenaLen + extra) cap = Math.ceil(cap * 1.5);
    const a = new Uint8Array(cap);
    a.set(this.arena.subarray(0, this.arenaLen));
    this.arena = a;
    this.arenaView = new DataView(a.buffer);
  }

  private growIds(): void {
    const cap = this.marks.length * 2;
    this.marks = growI32(this.marks, cap);
    this.refCounts = growI32(this.refCounts, cap);
    const h = new Float64Array(cap);
    h.set(this.idHashes);
    this.idHashes = h;
  }
}

function growI32(a: Int32Array, cap: number): Int32Array {
  const b = new Int32Array(cap);
  b.set(a);
  return b;
}

/**
 * Byte equality of `a[aOff, aOff+len)` and `b[bOff, bOff+len)`, four bytes per step
 * through DataViews (unaligned reads are fine there): about twice as fast as a byte
 * loop on the ~100–150-byte series keys of Mattermost's histograms.
 */
function viewsEqual(a: DataView, aOff: number, b: DataView, bOff: number, len: number): boolean {
  let i = 0;
  for (; i + 4 <= len; i += 4) if (a.getInt32(aOff + i, true) !== b.getInt32(bOff + i, true)) return false;
  for (; i < len; i++) if (a.getUint8(aOff + i) !== b.getUint8(bOff + i)) return false;
  return true;
}

/** `hashBytes` over a DataView (the hot path; same values). */
function hashView(v: DataView, start: number, end: number): number {
  let h = 0x9747b28c ^ (end - start);
  let i = start;
  const end4 = end - 3;
  while (i < end4) {
    let k = v.getInt32(i, true);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    i += 4;
  }
  const rest = end - i;
  if (rest > 0) {
    let k = v.getUint8(i);
    if (rest > 1) k |= v.getUint8(i + 1) << 8;
    if (rest > 2) k |= v.getUint8(i + 2) << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  return fmix(h);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * MurmurHash3 (x86, 32-bit) of `b[start, end)`, four bytes per step. Used only in
 * memory (never persisted), so its exact values are not a format.
 */
export function hashBytes(b: Uint8Array, start: number, end: number): number {
  return hashView(new DataView(b.buffer, b.byteOffset, b.byteLength), start, end);
}

/**
 * 53-bit hash of a label set given as parallel sorted name/value arrays (empty
 * values included, as Prometheus's `lset.Hash()` sees them). Two FNV-1a variants
 * over the UTF-16 code units with 0xff separators.
 */
export function hashLabelPairs(names: readonly string[], values: readonly string[], n: number): number {
  let a = 0x811c9dc5;
  let b = 0x5bd1e995;
  for (let i = 0; i < n; i++) {
    const nm = names[i]!;
    for (let j = 0; j < nm.length; j++) {
      const c = nm.charCodeAt(j);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x2127599b);
    }
    a = Math.imul(a ^ 0xff, 0x01000193);
    b = Math.imul(b ^ 0xff, 0x2127599b);
    const v = values[i]!;
    for (let j = 0; j < v.length; j++) {
      const c = v.charCodeAt(j);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x2127599b);
    }
    a = Math.imul(a ^ 0xfe, 0x01000193);
    b = Math.imul(b ^ 0xfe, 0x2127599b);
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}
