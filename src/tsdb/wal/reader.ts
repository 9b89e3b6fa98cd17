/**
 * Reads records back from a list of segments (a checkpoint's, then the WAL's),
 * checking every fragment's CRC32C and the fragment sequence, as Prometheus's
 * `wlog.Reader` does, and a little more (see "stricter than Prometheus" below).
 *
 * Pull API, no per-record allocation:
 *
 *   const r = openReader([{ dir: cpDir }, { dir: walDir, first: 3 }]);
 *   while (r.next()) handle(r.record());   // view valid until the next next()
 *   if (r.err()) …                           // CorruptionError → WAL.repair(err)
 *   r.close();
 *
 * I/O is synchronous (`readSync` of 1 MiB, page-aligned): replay runs at startup
 * where nothing else waits, and a sync pull loop avoids a promise per record.
 * Long readers that run beside live work (checkpoint) yield to the event loop
 * between records themselves.
 *
 * Buffers: a full uncompressed record is returned as a view of the read buffer
 * (zero copy); multi-fragment records are assembled in one growable buffer and
 * compressed ones decoded into another; both are reused for the next record.
 *
 * Stricter than Prometheus, because each case can only come from damage:
 *  - a fragment that crosses a page boundary (the writer never makes one);
 *  - an empty record (no writer logs one; a zeroed length + CRC looks like one);
 *  - a page that starts with zeros while a record is in progress, or an all-zero
 *    page followed by more records in the same segment (a zeroed page would
 *    otherwise silently drop the records it held).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32c } from '../encoding/index.js';
import { CorruptionError, WalError } from './errors.js';
import { FragmentType, PAGE_SIZE, RECORD_HEADER_SIZE, SNAPPY_MASK, TYPE_MASK, listSegmentsSync, type SegmentRange, type SegmentRef } from './segment.js';
import { snappyDecode, snappyDecodedLength } from './snappy.js';

/** Bytes read per `readSync`; a multiple of the page size so fragments never straddle reads. */
const READ_SIZE = 32 * PAGE_SIZE;
const EMPTY = new Uint8Array(0);

/**
 * Lists the segments of each range (each dir must be sequential) into one read
 * order. `first`/`last` are inclusive; omitted = from the first / to the last.
 */
export function listRanges(ranges: readonly SegmentRange[]): SegmentRef[] {
  const out: SegmentRef[] = [];
  for (const r of ranges) {
    const first = r.first ?? -Infinity;
    const last = r.last ?? Infinity;
    for (const s of listSegmentsSync(r.dir)) if (s.index >= first && s.index <= last) out.push(s);
  }
  return out;
}

/** A reader over the segments of `ranges`, in order. */
export function openReader(ranges: readonly SegmentRange[]): WALReader {
  return new WALReader(listRanges(ranges));
}

/** Sequential record reader over segment files; see the file comment. Single consumer. */
export class WALReader {
  private readonly segs: readonly SegmentRef[];
  private segPos: number;
  private fd: number;
  private fileSize: number;

  private buf: Uint8Array;
  /** File offset of buf[0] and number of valid bytes in buf. */
  private bufStart: number;
  private bufLen: number;
  /** File offset of the next byte to parse. */
  private pos: number;
  /** Offset of an all-zero page seen at a page start in this segment, or -1. */
  private zeroPage: number;

  private asm: Uint8Array;
  private asmLen: number;
  private dec: Uint8Array;
  private rec: Uint8Array;
  private recSeg: number;
  private recStart: number;
  private recEnd: number;
  private error: CorruptionError | WalError | null;

  constructor(segs: readonly SegmentRef[]) {
    this.segs = segs;
    this.segPos = -1;
    this.fd = -1;
    this.fileSize = 0;
    this.buf = new Uint8Array(READ_SIZE);
    this.bufStart = 0;
    this.bufLen = 0;
    this.pos = 0;
    this.zeroPage = -1;
    this.asm = new Uint8Array(64 * 1024);
    this.asmLen = 0;
    this.dec = new Uint8Array(64 * 1024);
    this.rec = EMPTY;
    this.recSeg = -1;
    this.recStart = 0;
    this.recEnd = 0;
    this.error = null;
  }

  /** The current record. Owned by the reader: valid until the next `next()`. */
  record(): Uint8Array {
    return this.rec;
  }

  /** Segment the current record was read from. */
  segment(): number {
    return this.recSeg;
  }

  /** Directory of the segment being read. */
  dir(): string {
    return this.segPos >= 0 && this.segPos < this.segs.length ? (this.segs[this.segPos] as SegmentRef).dir : '';
  }

  /** Offset of the current record's first fragment in its segment. */
  recordOffset(): number {
    return this.recStart;
  }

  /** Offset just past the current record's last fragment in its segment. */
  offset(): number {
    return this.recEnd;
  }

  /** The error that stopped reading, or null at a clean end. */
  err(): CorruptionError | WalError | null {
    return this.error;
  }

  /** Releases the open file. Idempotent. */
  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
    this.segPos = this.segs.length;
  }

  /** Advances to the next record; false at the end or on error (see `err()`). */
  next(): boolean {
    if (this.error !== null) return false;
    try {
      return this.nextRecord();
    } catch (e) {
      // I/O failures (not corruption): report, stop.
      this.error = e instanceof CorruptionError || e instanceof WalError ? e : new WalError(`read wal segment ${this.segName()}`, { cause: e });
      this.rec = EMPTY;
      return false;
    }
  }

  private segName(): string {
    return this.segPos >= 0 && this.segPos < this.segs.length ? (this.segs[this.segPos] as SegmentRef).path : '(none)';
  }

  private corrupt(offset: number, recordOffset: number, reason: string): false {
    const s = this.segs[this.segPos] as SegmentRef;
    this.error = new CorruptionError(s.dir, s.index, offset, recordOffset, reason);
    this.rec = EMPTY;
    return false;
  }

  /** Opens the next segment; false when there is none. */
  private openNext(): boolean {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
    this.segPos++;
    if (this.segPos >= this.segs.length) return false;
    const s = this.segs[this.segPos] as SegmentRef;
    this.fd = openSync(s.path, 'r');
    this.fileSize = fstatSync(this.fd).size;
    this.pos = 0;
    this.bufStart = 0;
    this.bufLen = 0;
    this.zeroPage = -1;
    return true;
  }

  /** Makes the page holding `pos` fully present in `buf` (as far as the file goes). */
  private ensurePage(pos: number): void {
    const pageStart = pos - (pos % PAGE_SIZE);
    const pageEnd = Math.min(pageStart + PAGE_SIZE, this.fileSize);
    if (pageStart >= this.bufStart && pageEnd <= this.bufStart + this.bufLen) return;
    const want = Math.min(READ_SIZE, this.fileSize - pageStart);
    let got = 0;
    while (got < want) {
      const n = readSync(this.fd, this.buf, got, want - got, pageStart + got);
      if (n <= 0) break;
      got += n;
    }
    this.bufStart = pageStart;
    this.bufLen = got;
    if (pageStart + got < pageEnd) this.fileSize = pageStart + got; // file shrank under us: treat as its end
  }

  private nextRecord(): boolean {
    if (this.segPos < 0 && !this.openNext()) return false;
    let frags = 0;
    let compressed = false;
    let recStart = 0;
    this.asmLen = 0;
    for (;;) {
      const pos = this.pos;
      if (pos >= this.fileSize) {
        if (frags > 0) return this.corrupt(this.fileSize, recStart, 'record torn at end of segment (first fragment without last)');
        if (!this.openNext()) {
          this.rec = EMPTY;
          return false;
        }
        continue;
      }
      this.ensurePage(pos);
      const b = this.buf;
      const p = pos - this.bufStart;
      const pageStart = pos - (pos % PAGE_SIZE);
      // A short segment's last page ends at the end of the file (Prometheus reads the gap as zeros).
      const pageEnd = Math.min(pageStart + PAGE_SIZE, this.fileSize);
      const typByte = b[p] as number;
      const typ = typByte & TYPE_MASK;

      if (typ === FragmentType.PageTerm) {
        const end = pageEnd - this.bufStart;
        for (let k = p; k < end; k++) {
          if (b[k] !== 0) return this.corrupt(this.bufStart + k, frags > 0 ? recStart : pos, 'unexpected non-zero byte in page padding');
        }
        if (pos === pageStart) {
          if (frags > 0) return this.corrupt(pos, recStart, 'zeroed page inside a record');
          if (this.zeroPage < 0) this.zeroPage = pos;
        }
        this.pos = pageEnd;
        continue;
      }
      const cut = frags > 0 ? recStart : pos;
      if (this.zeroPage >= 0) return this.corrupt(this.zeroPage, this.zeroPage, 'zeroed page followed by more records');
      if (pageEnd - pos < RECORD_HEADER_SIZE) {
        return this.corrupt(pos, cut, pageEnd === this.fileSize && this.fileSize % PAGE_SIZE !== 0 ? 'truncated fragment header (torn write)' : 'fragment header crosses page boundary');
      }
      const len = ((b[p + 1] as number) << 8) | (b[p + 2] as number);
      const crc = (((b[p + 3] as number) << 24) | ((b[p + 4] as number) << 16) | ((b[p + 5] as number) << 8) | (b[p + 6] as number)) >>> 0;
      if (len > PAGE_SIZE - RECORD_HEADER_SIZE) return this.corrupt(pos, cut, `invalid fragment size ${len}`);
      const dataStart = p + RECORD_HEADER_SIZE;
      const dataEnd = dataStart + len;
      if (pos + RECORD_HEADER_SIZE + len > pageEnd) {
        return this.corrupt(pos, cut, pageEnd === this.fileSize && pageEnd !== pageStart + PAGE_SIZE ? `truncated fragment: ${len} bytes announced, ${pageEnd - pos - RECORD_HEADER_SIZE} present (torn write)` : 'fragment crosses page boundary');
      }
      if (typ > FragmentType.Last) return this.corrupt(pos, cut, `invalid fragment type ${typ}`);
      if (typ === FragmentType.Full || typ === FragmentType.First) {
        if (frags > 0) return this.corrupt(pos, cut, `fragment type ${typ === 1 ? 'full' : 'first'} inside a record`);
      } else if (frags === 0) {
        return this.corrupt(pos, cut, `fragment type ${typ === 3 ? 'middle' : 'last'} without a first fragment`);
      }
      const c = crc32c(b, dataStart, dataEnd);
      if (c !== crc) return this.corrupt(pos, cut, `fragment checksum mismatch: computed ${c.toString(16).padStart(8, '0')}, stored ${crc.toString(16).padStart(8, '0')}`);
      const isCompressed = (typByte & SNAPPY_MASK) !== 0;
      if (frags === 0) {
        compressed = isCompressed;
        recStart = pos;
      } else if (isCompressed !== compressed) {
        return this.corrupt(pos, recStart, 'compression flag differs between fragments of one record');
      }
      this.pos = pos + RECORD_HEADER_SIZE + len;
      frags++;

      if (typ === FragmentType.Full) {
        // Nothing logs empty records (WAL.log refuses them, Prometheus never writes one),
        // but a zeroed length + CRC forms a "valid" empty fragment: report it as damage.
        if (len === 0) return this.corrupt(pos, recStart, 'empty record (zeroed fragment header?)');
        this.recSeg = (this.segs[this.segPos] as SegmentRef).index;
        this.recStart = recStart;
        this.recEnd = this.pos;
        if (!compressed) {
          this.rec = b.subarray(dataStart, dataEnd);
          return true;
        }
        return this.decompress(b, dataStart, dataEnd, recStart);
      }
      // first/middle/last: assemble
      if (this.asmLen + len > this.asm.length) {
        let cap = this.asm.length * 2;
        while (cap < this.asmLen + len) cap *= 2;
        const nb = new Uint8Array(cap);
        nb.set(this.asm.subarray(0, this.asmLen));
        this.asm = nb;
      }
      this.asm.set(b.subarray(dataStart, dataEnd), this.asmLen);
      this.asmLen += len;
      if (typ === FragmentType.Last) {
        if (this.asmLen === 0) return this.corrupt(pos, recStart, 'empty record (zeroed fragment headers?)');
        this.recSeg = (this.segs[this.segPos] as SegmentRef).index;
        this.recStart = recStart;
        this.recEnd = this.pos;
        if (!compressed) {
          this.rec = this.asm.subarray(0, this.asmLen);
          return true;
        }
        return this.decompress(this.asm, 0, this.asmLen, recStart);
      }
    }
  }

  private decompress(src: Uint8Array, start: number, end: number, recStart: number): boolean {
    const n = snappyDecodedLength(src, start, end);
    if (n < 0) return this.corrupt(recStart, recStart, 'snappy: malformed length preamble');
    if (n > this.dec.length) {
      let cap = this.dec.length * 2;
      while (cap < n) cap *= 2;
      this.dec = new Uint8Array(cap);
    }
    const got = snappyDecode(src, start, end, this.dec);
    if (got < 0) return this.corrupt(recStart, recStart, 'snappy: malformed compressed record');
    this.rec = this.dec.subarray(0, got);
    return true;
  }
}
