/**
 * Write-ahead log: Prometheus 2.42's `wlog` format (segments of 32 KiB pages,
 * CRC32C fragments, optional snappy), durable group-commit writer, reader,
 * repair and checkpoints. Moves bytes only: record meaning lives in ../record.
 */
export { WAL, defaultWALOptions, type WALOptions, type WALStats } from './log.js';
export { WALReader, openReader, listRanges } from './reader.js';
export { CorruptionError, WalError, ERR_WAL, ERR_WAL_CORRUPT, ERR_WAL_CLOSED } from './errors.js';
export {
  PAGE_SIZE,
  RECORD_HEADER_SIZE,
  DEFAULT_SEGMENT_SIZE,
  FragmentType,
  SNAPPY_MASK,
  segmentName,
  parseSegmentName,
  listSegments,
  listSegmentsSync,
  segmentRange,
  type SegmentRef,
  type SegmentRange,
} from './segment.js';
export { repairSegments, type RepairReport } from './repair.js';
export { checkpoint, defaultCheckpointOptions, type CheckpointFilter, type CheckpointOptions, type CheckpointStats } from './checkpoint.js';
export { checkpointName, parseCheckpointName, lastCheckpoint, deleteCheckpoints, removeTmpCheckpoints } from './checkpoint-dir.js';
export { stderrWalLogger, nopWalLogger, type WalLogger } from './logger.js';
export { snappyDecode, snappyDecodedLength, snappyEncode } from './snappy.js';
