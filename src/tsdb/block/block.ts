/**
 * A persisted block opened for reading (Prometheus `tsdb/block.go` `OpenBlock`).
 *
 *   <dir>/meta.json   → meta (version 1 required)
 *   <dir>/chunks/     → ChunkReader (segment headers checked on open)
 *   <dir>/index       → IndexReader (TOC, symbols and postings table checked on open)
 *   <dir>/tombstones  → MemTombstones (absent = none)
 *
 * Open fails with an error naming the block directory and what is wrong (missing chunk
 * file, truncated index, bad meta). Queriers hold a reference; `close()` waits for none,
 * it just closes the files — call it after the queriers are closed.
 */
import { join } from 'node:path';
import type { Querier } from '../../storage/index.js';
import { ChunkReader } from '../chunks/index.js';
import { IndexReader } from '../index/index.js';
import { readTombstones } from '../tombstones/index.js';
import type { MemTombstones } from '../tombstones/index.js';
import { readMetaFile } from './meta.js';
import type { BlockMeta } from './meta.js';
import { BlockQuerier } from './querier.js';

export class BlockOpenError extends Error {
  readonly code = 'MM_ERR_BLOCK_OPEN';
  readonly dir: string;
  constructor(dir: string, cause: Error) {
    super(`open block ${dir}: ${cause.message}`, { cause });
    this.dir = dir;
    this.name = 'BlockOpenError';
  }
}

export class Block {
  readonly dir: string;
  readonly meta: BlockMeta;
  private readonly ir: IndexReader;
  private readonly cr: ChunkReader;
  private readonly tombs: MemTombstones;
  private readonly sizes: { meta: number; index: number; chunks: number; tombstones: number };
  private readers: number;
  private closed: boolean;

  constructor(dir: string, meta: BlockMeta, ir: IndexReader, cr: ChunkReader, tombs: MemTombstones, sizes: { meta: number; index: number; chunks: number; tombstones: number }) {
    this.dir = dir;
    this.meta = meta;
    this.ir = ir;
    this.cr = cr;
    this.tombs = tombs;
    this.sizes = sizes;
    this.readers = 0;
    this.closed = false;
  }

  /** ULID of the block. */
  get ulid(): string {
    return this.meta.ulid;
  }
  /** Inclusive min time. */
  get minTime(): number {
    return this.meta.minTime;
  }
  /** Exclusive max time. */
  get maxTime(): number {
    return this.meta.maxTime;
  }

  index(): IndexReader {
    return this.ir;
  }
  chunks(): ChunkReader {
    return this.cr;
  }
  tombstones(): MemTombstones {
    return this.tombs;
  }

  /** Bytes on disk: chunks + index + tombstones + meta.json (Prometheus `Block.Size`). */
  size(): number {
    return this.sizes.chunks + this.sizes.index + this.sizes.tombstones + this.sizes.meta;
  }

  /** Open queriers. */
  pendingReaders(): number {
    return this.readers;
  }

  /** A querier over [mint, maxt] (inclusive ms). */
  querier(mint: number, maxt: number): Querier {
    if (this.closed) throw new Error(`block ${this.meta.ulid} is closed`);
    this.readers++;
    return new BlockQuerier({ index: this.ir, chunks: this.cr, tombstones: this.tombs }, mint, maxt, () => {
      this.readers--;
    });
  }

  /** True when [mint, maxt] (inclusive) overlaps the block's [minTime, maxTime). */
  overlapsClosedInterval(mint: number, maxt: number): boolean {
    return this.meta.minTime <= maxt && mint < this.meta.maxTime;
  }

  /** Closes the chunk files. Chunks already read stay valid. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cr.close();
    this.ir.close();
  }
}

/** Opens the block at `dir`. Throws BlockOpenError (code MM_ERR_BLOCK_OPEN) with the cause. */
export async function openBlock(dir: string): Promise<Block> {
  return openBlockSync(dir);
}

/** Synchronous `openBlock` (everything it reads is small or read lazily). */
export function openBlockSync(dir: string): Block {
  let cr: ChunkReader | null = null;
  try {
    const { meta, size: metaSize } = readMetaFile(dir);
    cr = ChunkReader.open(join(dir, 'chunks'));
    const ir = IndexReader.open(join(dir, 'index'));
    const { tombstones, size: tombSize } = readTombstones(dir);
    return new Block(dir, meta, ir, cr, tombstones, { meta: metaSize, index: ir.size(), chunks: cr.size(), tombstones: tombSize });
  } catch (e) {
    cr?.close();
    throw new BlockOpenError(dir, e as Error);
  }
}
