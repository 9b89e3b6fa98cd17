/**
 * Blocks for the head's open chunks (one per series, appended to in place), carved from
 * shared 64 KiB slabs: `SlabPool` below.
 *
 * Why: a `new Uint8Array(128)` per series costs an ArrayBuffer object, a native
 * backing store with its bookkeeping and a malloc block (~250 bytes beyond the data),
 * and every chunk cut or buffer growth leaves one to the garbage collector.
 *
 * Contract: give back only a block that nobody reads any more (the head copies
 * open-chunk bytes for readers, blocks and cuts; see mem-series.ts).
 */
import { writeBE32 } from './bstream.js';

const SLAB = 64 * 1024;

/** Smallest and largest block sizes of `SlabPool` (blocks above go to plain buffers). */
export const SLAB_POOL_MIN = 32;
export const SLAB_POOL_MAX = 4096;
/** Size classes: 32, then four steps per doubling (40, 48, 56, 64, 80, …, 3584, 4096). */
const NUM_CLASSES = 29;

/** Index of the smallest class holding `n` bytes (n ≤ SLAB_POOL_MAX). */
function classOf(n: number): number {
  if (n <= SLAB_POOL_MIN) return 0;
  const e = 31 - Math.clz32(n - 1); // 2^e < n ≤ 2^(e+1)
  const base = 1 << e;
  return (e - 5) * 4 + Math.ceil((n - base) / (base >>> 2));
}

/** Block size of class `c`. */
function classSize(c: number): number {
  if (c === 0) return SLAB_POOL_MIN;
  const e = 5 + ((c - 1) >>> 2);
  return (1 << e) + (((c - 1) & 3) + 1) * (1 << (e - 2));
}

/**
 * One 64 KiB slab of a `SlabPool` class. Given-back blocks form a list threaded through
 * the blocks themselves (next offset in their first 4 bytes, -1 ends it), so a slab
 * costs no array of free offsets.
 */
class Slab {
  readonly buf: Uint8Array;
  /** Index of its list in the pool (size class, + NUM_CLASSES for fresh blocks). */
  readonly list: number;
  readonly size: number;
  /** First given-back block, -1 when none. */
  freeHead: number;
  /** Offset of the first never-used block. */
  bump: number;
  /** Blocks handed out. */
  used: number;
  /** Index in the class's list of slabs with room, -1 when full. */
  pidx: number;

  constructor(list: number, size: number) {
    this.buf = new Uint8Array(SLAB);
    this.list = list;
    this.size = size;
    this.freeHead = -1;
    this.bump = 0;
    this.used = 0;
    this.pidx = -1;
  }

  hasRoom(): boolean {
    return this.freeHead >= 0 || this.bump + this.size <= SLAB;
  }
}

function read32(b: Uint8Array, i: number): number {
  return (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) | 0;
}


/**
 * Blocks for the head's open chunks, addressed as (slab, offset) instead of one view
 * object per block: a series keeps the shared slab's `Uint8Array` plus two small
 * integers, where a per-series view cost ~100 bytes of heap and a pointer chase per
 * sample. Size classes are a quarter of a power of two apart (32 … 4096 B, ~12 %
 * average slack instead of ~25 % with powers of two), so a series can keep a block
 * sized to its previous chunk (see mem-series.ts).
 *
 * ```
 *   class 160 B   cur S7 (blocks come from here)   slabs with room: [S3, S7, S9]
 *                 S3 ┌────┬────┬────┬─ … ┐ used 9, free list 320 → 0 → -1
 *   bySlab: slab bytes → Slab (to find a given-back block's slab)
 * ```
 *
 * Fragmentation: series move between classes at chunk cuts, all at about the same
 * time, which would leave every class's slabs sparsely used. So a slab whose blocks
 * all came back is dropped (unless it is its class's current slab), and blocks come
 * from the current slab and, when it is full, from the fullest slab with room: when
 * the owners take a new block at every cut (mem-series.ts does), the blocks pack into
 * few slabs again and the sparse ones drain and go.
 *
 * `take(n)` returns the block's capacity and leaves the block in `buf`/`off` (out
 * fields, no allocation). Blocks are zero when taken; `give` zeroes the bytes the owner
 * wrote. Give back only blocks nobody reads any more (see the file comment).
 */
export class SlabPool {
  /** Out: the buffer of the block the last `take` returned. */
  buf: Uint8Array;
  /** Out: the offset of that block in `buf`. */
  off: number;
  private readonly partial: Slab[][];
  private readonly cur: (Slab | null)[];
  private readonly bySlab: Map<Uint8Array, Slab>;
  private allocated: number;

  constructor() {
    this.buf = EMPTY_BLOCK;
    this.off = 0;
    this.partial = [];
    this.cur = [];
    for (let c = 0; c < 2 * NUM_CLASSES; c++) {
      this.partial.push([]);
      this.cur.push(null);
    }
    this.bySlab = new Map();
    this.allocated = 0;
  }

  /** Capacity `take(n)` would return: the class size, or `n` itself above SLAB_POOL_MAX. */
  static capFor(n: number): number {
    return n > SLAB_POOL_MAX ? n : classSize(classOf(n));
  }

  /**
   * A zeroed block of at least `n` bytes (exactly `capFor(n)`): sets `buf`/`off`, returns
   * the capacity. `fresh`: for an owner whose size is not known yet (a series' first
   * chunk); such blocks come from slabs of their own, which all drain when the owners
   * move to blocks of their steady size, instead of leaving holes in those.
   */
  take(n: number, fresh = false): number {
    if (n > SLAB_POOL_MAX) {
      this.buf = new Uint8Array(n);
      this.off = 0;
      return n;
    }
    const c = classOf(n) + (fresh ? NUM_CLASSES : 0);
    let slab = this.cur[c] as Slab | null;
    if (slab === null || !slab.hasRoom()) {
      slab = this.fullest(c);
      this.cur[c] = slab;
    }
    let off = slab.freeHead;
    const buf = slab.buf;
    if (off >= 0) {
      slab.freeHead = read32(buf, off);
      writeBE32(buf, off, 0);
    } else {
      off = slab.bump;
      slab.bump += slab.size;
    }
    slab.used++;
    if (!slab.hasRoom()) this.unlist(c, slab);
    this.buf = buf;
    this.off = off;
    return slab.size;
  }

  /**
   * Returns a block from `take` (capacity `cap`) for reuse; `used` bytes from `off` on
   * may be non-zero (the rest must be zero). Plain (oversized) blocks are left to the GC.
   */
  give(buf: Uint8Array, off: number, cap: number, used: number): void {
    if (cap > SLAB_POOL_MAX) return;
    const slab = this.bySlab.get(buf);
    if (slab === undefined) return;
    const c = slab.list;
    slab.used--;
    if (slab.used === 0 && slab !== this.cur[c]) {
      // Every block is back: drop the slab.
      if (slab.pidx >= 0) this.unlist(c, slab);
      this.bySlab.delete(buf);
      this.allocated -= SLAB;
      return;
    }
    buf.fill(0, off, off + used);
    writeBE32(buf, off, slab.freeHead);
    slab.freeHead = off;
    if (slab.pidx < 0) {
      slab.pidx = (this.partial[c] as Slab[]).length;
      (this.partial[c] as Slab[]).push(slab);
    }
  }

  /** The fullest slab of list `c` with room, or a new one. */
  private fullest(c: number): Slab {
    const list = this.partial[c] as Slab[];
    let best: Slab | null = null;
    for (let i = 0; i < list.length; i++) {
      const s = list[i] as Slab;
      if (best === null || s.used > best.used) best = s;
    }
    if (best !== null) return best;
    const slab = new Slab(c, classSize(c % NUM_CLASSES));
    this.bySlab.set(slab.buf, slab);
    this.allocated += SLAB;
    slab.pidx = list.length;
    list.push(slab);
    return slab;
  }

  /** Removes `slab` from list `c` of slabs with room. */
  private unlist(c: number, slab: Slab): void {
    const list = this.partial[c] as Slab[];
    const last = list.pop() as Slab;
    if (last !== slab) {
      list[slab.pidx] = last;
      last.pidx = slab.pidx;
    }
    slab.pidx = -1;
  }

  /** Bytes held in slabs (handed out or free). */
  allocatedBytes(): number {
    return this.allocated;
  }

  /** Slabs held (tests). */
  numSlabs(): number {
    return this.bySlab.size;
  }
}

const EMPTY_BLOCK = new Uint8Array(0);
