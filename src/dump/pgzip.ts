/**
 * gzip compressed on several threads at once, as pigz does, into one ordinary gzip
 * member that every gunzip reads (no multi-member tricks).
 *
 *   input ─► 1 MiB blocks ─► zlib.deflateRaw on the libuv thread pool, `parallel` at a time
 *              block i is primed with the last 32 KiB of block i−1 (deflate dictionary),
 *              ends with a sync flush (byte-aligned, not final); the last block ends final
 *   output: gzip header │ raw deflate of block 0 │ block 1 │ … │ CRC-32 │ size mod 2^32
 *
 * The dictionary keeps the compression ratio within a fraction of a percent of a single
 * stream; CRC-32 is computed on the main thread (zlib.crc32, native). Blocks are written
 * out strictly in order. Memory: `parallel` + 1 input blocks and their outputs.
 *
 * Why: a dump is bound by gzip once the block is assembled (bench/dump/dump.bench.ts);
 * one zlib stream uses one core, and a dump server usually has more.
 */
import { constants, crc32, deflateRaw } from 'node:zlib';

/** Uncompressed bytes per deflate job. */
export const PGZIP_BLOCK = 1 << 20;
const DICT = 32 << 10;

export interface ParallelGzipOptions {
  level: number;
  /** Deflate jobs in flight (≥ 1). */
  parallel: number;
  /** gzip header mtime (seconds); 0 = none, as Node's gzip writes. */
  mtimeSec?: number;
}

/** Where compressed bytes go; `write` resolves when the sink can take more. */
export type GzipSink = (b: Uint8Array) => Promise<void>;

function deflateBlock(input: Buffer, dictionary: Buffer | null, level: number, last: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    deflateRaw(
      input,
      {
        level,
        // One thread-pool job per block: the output buffer holds all of it (deflate bound).
        chunkSize: input.length + (input.length >>> 8) + 1024,
        finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
        ...(dictionary !== null ? { dictionary } : {}),
      },
      (err, out) => (err ? reject(err) : resolve(out)),
    );
  });
}

export class ParallelGzip {
  private readonly sink: GzipSink;
  private readonly level: number;
  private readonly parallel: number;
  /** Block being filled, and bytes in it. */
  private block: Buffer;
  private fill: number;
  /** Last 32 KiB of the previous block's input (the next block's dictionary). */
  private dict: Buffer | null;
  /** Deflate jobs in flight, oldest first, with their input block (back to `free` when done). */
  private readonly pending: Array<{ job: Promise<Buffer>; input: Buffer }>;
  private readonly free: Buffer[];
  private crc: number;
  private size: number;
  private readonly header: Buffer;
  private started: boolean;
  private ended: boolean;

  constructor(sink: GzipSink, opts: ParallelGzipOptions) {
    this.sink = sink;
    this.level = opts.level;
    this.parallel = Math.max(1, opts.parallel);
    this.block = Buffer.allocUnsafe(PGZIP_BLOCK);
    this.fill = 0;
    this.dict = null;
    this.pending = [];
    this.free = [];
    this.crc = 0;
    this.size = 0;
    this.started = false;
    this.ended = false;
    const h = Buffer.alloc(10);
    h[0] = 0x1f;
    h[1] = 0x8b;
    h[2] = 8; // deflate
    h.writeUInt32LE((opts.mtimeSec ?? 0) >>> 0, 4);
    h[9] = 3; // OS: Unix
    this.header = h;
  }

  /** Copies `b` in (the caller may reuse it at once); waits when `parallel` jobs are running. */
  async write(b: Uint8Array): Promise<void> {
    if (this.ended) throw new Error('pgzip: write after end');
    let off = 0;
    while (off < b.length) {
      const n = Math.min(b.length - off, PGZIP_BLOCK - this.fill);
      this.block.set(b.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === PGZIP_BLOCK) await this.cut(false);
    }
  }

  /** Starts the deflate of the filled block; drains the oldest job first when at the limit. */
  private async cut(last: boolean): Promise<void> {
    const input = this.fill === PGZIP_BLOCK ? this.block : this.block.subarray(0, this.fill);
    this.crc = crc32(input, this.crc);
    this.size += input.length;
    while (this.pending.length >= this.parallel) await this.drainOne();
    if (!this.started) {
      this.started = true;
      await this.sink(this.header);
    }
    const job = deflateBlock(input, this.dict, this.level, last);
    job.catch(() => {}); // observed in drainOne
    this.pending.push({ job, input: this.block });
    // The next block's dictionary: a copy, since `input` belongs to the running job.
    this.dict = input.length >= DICT ? Buffer.from(input.subarray(input.length - DICT)) : Buffer.concat(this.dict ? [this.dict, input] : [input]).subarray(-DICT);
    this.block = this.free.pop() ?? Buffer.allocUnsafe(PGZIP_BLOCK);
    this.fill = 0;
  }

  private async drainOne(): Promise<void> {
    const p = this.pending.shift() as { job: Promise<Buffer>; input: Buffer };
    const out = await p.job;
    this.free.push(p.input);
    await this.sink(out);
  }

  /** Compresses what is left, writes the trailer; returns uncompressed byte count. */
  async end(): Promise<number> {
    if (this.ended) throw new Error('pgzip: ended twice');
    await this.cut(true);
    this.ended = true;
    while (this.pending.length > 0) await this.drainOne();
    const t = Buffer.alloc(8);
    t.writeUInt32LE(this.crc >>> 0, 0);
    t.writeUInt32LE(this.size % 4294967296, 4);
    await this.sink(t);
    return this.size;
  }

  /** Forgets work in flight (their results are dropped). */
  destroy(): void {
    this.ended = true;
    this.pending.length = 0;
  }
}
