/**
 * A pool of small zeroed byte buffers carved from shared 64 KiB slabs, for the head's
 * open chunks (one per series, appended to in place).
 *
 * ```
 *   class 64 B   slab ┌──┬──┬──┬──┬── … ┐   free: [view, view, …]   (views reused as is)
 *   class 128 B  slab ┌────┬────┬── …    ┐   free: […]
 *   …            up to 4 KiB; larger requests get a plain Uint8Array
 * ```
 *
 * Why: a `new Uint8Array(128)` per series costs an ArrayBuffer object, a native
 * backing store with its bookkeeping and a malloc block (~250 bytes beyond the data),
 * and every chunk cut or buffer growth leaves one to the garbage collector. A view
 * into a slab costs only the view, and a released view is handed out again.
 *
 * Contract: `put` only a buffer that nobody reads any more (the head copies open-chunk
 * bytes for readers, blocks and cuts; see mem-series.ts). The pool zeroes it, so
 * `get` always returns zeros (BitWriter relies on that). Memory is kept at the peak
 * per size class and never returned, like Prometheus's chunk pools.
 */
const SLAB = 64 * 1024;
const MIN_CLASS = 6; // 64 B
const MAX_CLASS = 12; // 4 KiB

export class BufferPool {
  private readonly free: Uint8Array[][];
  private readonly slabs: (ArrayBuffer | null)[];
  private readonly offs: number[];
  /** Bytes of slabs allocated. */
  private allocated: number;

  constructor() {
    this.free = [];
    this.slabs = [];
    this.offs = [];
    for (let c = 0; c <= MAX_CLASS; c++) {
      this.free.push([]);
      this.slabs.push(null);
      this.offs.push(0);
    }
    this.allocated = 0;
  }

  /** A zeroed buffer of at least `n` bytes (exactly a power of two up to 4 KiB). */
  get(n: number): Uint8Array {
    let c = MIN_CLASS;
    while (1 << c < n) c++;
    if (c > MAX_CLASS) return new Uint8Array(n);
    const fl = this.free[c]!;
    if (fl.length > 0) return fl.pop()!;
    const size = 1 << c;
    let slab = this.slabs[c]!;
    let off = this.offs[c]!;
    if (slab === null || off + size > SLAB) {
      slab = new ArrayBuffer(SLAB);
      this.slabs[c] = slab;
      this.allocated += SLAB;
      off = 0;
    }
    this.offs[c] = off + size;
    return new Uint8Array(slab, off, size);
  }

  /** Returns a buffer from `get` for reuse; others (plain, oversized) are left to the GC. */
  put(b: Uint8Array): void {
    const size = b.length;
    if (b.byteLength !== size || b.buffer.byteLength !== SLAB || size < 1 << MIN_CLASS || size > 1 << MAX_CLASS || (size & (size - 1)) !== 0) return;
    b.fill(0);
    this.free[31 - Math.clz32(size)]!.push(b);
  }

  /** Bytes held in slabs (handed out or free). */
  allocatedBytes(): number {
    return this.allocated;
  }
}
