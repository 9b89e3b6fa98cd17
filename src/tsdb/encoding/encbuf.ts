/**
 * Growable byte writer, the counterpart of Prometheus's `encoding.Encbuf`.
 *
 * Integers are JS numbers. Go writes int64/uint64; we accept any safe integer
 * (|x| <= 2^53) and encode it exactly as Go would encode the same int64/uint64.
 * Varints above 2^31 use arithmetic instead of bit operators, which truncate to 32 bits.
 */
const textEncoder = new TextEncoder();

export class Encbuf {
  buf: Uint8Array;
  view: DataView;
  /** Bytes written so far. */
  len: number;

  constructor(initialCapacity = 1024) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
    this.len = 0;
  }

  /** Forgets the content, keeps the memory. */
  reset(): void {
    this.len = 0;
  }

  /** View of the written bytes; invalidated by the next write or reset. */
  get(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Makes room for `n` more bytes. */
  grow(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }

  putByte(b: number): void {
    if (this.len >= this.buf.length) this.grow(1);
    this.buf[this.len++] = b;
  }

  putBytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  putBE16(x: number): void {
    this.grow(2);
    this.view.setUint16(this.len, x);
    this.len += 2;
  }

  putBE32(x: number): void {
    this.grow(4);
    this.view.setUint32(this.len, x >>> 0);
    this.len += 4;
  }

  /** Big-endian uint64 from a non-negative safe integer. */
  putBE64(x: number): void {
    this.grow(8);
    const hi = Math.floor(x / 4294967296);
    this.view.setUint32(this.len, hi >>> 0);
    this.view.setUint32(this.len + 4, (x - hi * 4294967296) >>> 0);
    this.len += 8;
  }

  /** Big-endian int64 (two's complement) from a safe integer, negative allowed. */
  putBE64Int(x: number): void {
    if (x >= 0) {
      this.putBE64(x);
      return;
    }
    this.grow(8);
    // two's complement of |x| across two 32-bit halves
    const a = -x;
    let hi = Math.floor(a / 4294967296);
    let lo = a - hi * 4294967296;
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
    this.view.setUint32(this.len, hi);
    this.view.setUint32(this.len + 4, lo);
    this.len += 8;
  }

  /** Writes the two 32-bit halves of a 64-bit pattern (e.g. float bits) big-endian. */
  putBE64HiLo(hi: number, lo: number): void {
    this.grow(8);
    this.view.setUint32(this.len, hi >>> 0);
    this.view.setUint32(this.len + 4, lo >>> 0);
    this.len += 8;
  }

  putBEFloat64(v: number): void {
    this.grow(8);
    this.view.setFloat64(this.len, v);
    this.len += 8;
  }

  /** Unsigned LEB128 of a non-negative safe integer (Go binary.PutUvarint). */
  putUvarint(x: number): void {
    this.grow(10);
    const b = this.buf;
    let i = this.len;
    while (x >= 0x80000000) {
      b[i++] = (x % 128) | 0x80;
      x = Math.floor(x / 128);
    }
    while (x >= 0x80) {
      b[i++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    b[i++] = x;
    this.len = i;
  }

  /** Zigzag + LEB128 (Go binary.PutVarint); exact for |x| < 2^52, since zigzag doubles the magnitude. */
  putVarint(x: number): void {
    // zigzag: 0→0, -1→1, 1→2 … computed arithmetically to stay exact above 2^31.
    this.putUvarint(x >= 0 ? x * 2 : -x * 2 - 1);
  }

  /** uvarint length + UTF-8 bytes. */
  putUvarintStr(s: string): void {
    // Fast path for ASCII, the common case for label names and values.
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.putUvarint(s.length);
      this.grow(s.length);
      const b = this.buf;
      let o = this.len;
      for (let i = 0; i < s.length; i++) b[o++] = s.charCodeAt(i);
      this.len = o;
      return;
    }
    const bytes = textEncoder.encode(s);
    this.putUvarint(bytes.length);
    this.putBytes(bytes);
  }

  putUvarintBytes(b: Uint8Array): void {
    this.putUvarint(b.length);
    this.putBytes(b);
  }

  /** Overwrites 4 bytes at `off` (for back-patched lengths). */
  setBE32At(off: number, x: number): void {
    this.view.setUint32(off, x >>> 0);
  }
}

/** Number of bytes `putUvarint(x)` writes. */
export function uvarintSize(x: number): number {
  let n = 1;
  while (x >= 0x80) {
    x = Math.floor(x / 128);
    n++;
  }
  return n;
}
