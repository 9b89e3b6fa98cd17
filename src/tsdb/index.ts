/**
 * The tsdb layer's public surface: the database (head + WAL + blocks in one directory
 * Prometheus 2.42 can open), its read side, and the block-level pieces the dump builder
 * and the CLI need. Import from here rather than from the sublayers' files.
 *
 *   openDB(dir, opts)        writable DB: lock, WAL replay, head cuts, compaction, retention
 *   openReadOnly(dir)        what `promtool tsdb dump` opens: blocks + WAL replayed, no writes
 *   db.appender()            storage Appender (commit = WAL first, then memory)
 *   db.querier(mint, maxt)   storage Querier over blocks + head, merged and deduplicated
 */
export {
  openDB,
  openReadOnly,
  defaultDBOptions,
  DB,
  DBError,
  DBMetrics,
  ERR_DB_CLOSED,
  ERR_DB_READ_ONLY,
  stderrDBLogger,
  type DBLogger,
  type DBOptions,
  type DBStats,
} from './db.js';
export { Head, HeadMetrics, defaultHeadOptions, DEFAULT_BLOCK_RANGE, type HeadOptions, type HeadStats, type HeadWAL } from './head/head.js';
export { HeadAppender, CommitError } from './head/head-append.js';
export { HeadQuerier } from './head/read.js';
export { headBlockSeries, type HeadBlockSeries } from './head/block.js';
export type { ReplayStats } from './head/replay.js';
export { LockError } from './head/lockfile.js';
export { mergeQueriers, MergeSeriesSet, ChainedSeries, ChainIterator, unionSorted } from './querier.js';
export {
  compactionRanges,
  deletableBlocks,
  exponentialBlockRanges,
  headCompactable,
  headCutRange,
  planCompaction,
  type DeleteReason,
  type PlanMeta,
  type RetentionOptions,
} from './compact/plan.js';
export { compactSources, type CompactOptions, type CompactResult, type SeriesSource } from './compact/compactor.js';
export { blockSource, headSource } from './compact/sources.js';
export { Block, BlockOpenError, openBlock, openBlockSync, readMetaFile, writeBlock, writeMetaFile, type BlockMeta } from './block/index.js';
