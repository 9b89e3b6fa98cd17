/**
 * WAL record payloads (Prometheus 2.42 `tsdb/record`): the type byte and an
 * encoder/decoder per type, filling caller-owned struct-of-arrays batches.
 */
export { RecordType, recordType, recordTypeName, MetricType, metricTypeName } from './type.js';
export { RecordError, ERR_RECORD_CORRUPT } from './errors.js';
export { SampleBatch, encodeSamples, decodeSamples } from './samples.js';
export { SeriesBatch, encodeSeries, decodeSeries } from './series.js';
export { TombstoneBatch, encodeTombstones, decodeTombstones } from './tombstones.js';
export { ExemplarBatch, encodeExemplars, decodeExemplars } from './exemplars.js';
export { MetadataBatch, encodeMetadata, decodeMetadata } from './metadata.js';
export { newCheckpointFilter, type CheckpointFilterOptions, type CheckpointFilterStats, type RecordCheckpointFilter } from './checkpoint-filter.js';
