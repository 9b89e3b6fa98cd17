/**
 * The record-level filter for WAL checkpoints, as Prometheus's `wlog.Checkpoint`
 * decides (2.42): the head builds it and hands it to `wal.checkpoint`, which
 * stays ignorant of record meaning.
 *
 *   series        keep entries whose ref `keep(ref)` says is still alive
 *   samples       keep samples with t >= mint (stale markers included)
 *   tombstones    keep entries with maxt >= mint (not filtered by `keep`, as Prometheus)
 *   exemplars     keep exemplars with t >= mint
 *   metadata      keep only the latest per alive ref, written as one record at the end
 *   histograms    kept whole (we do not decode them; keeping is always safe)
 *   others        dropped (mmap markers belong to the WBL; unknown types, as Prometheus)
 *
 * A record that loses nothing is kept byte for byte; a partly kept one is
 * re-encoded into `out`. Decode errors throw `RecordError` (the checkpoint fails
 * rather than silently losing series).
 */
import type { Encbuf } from '../encoding/index.js';
import { decodeExemplars, encodeExemplars, ExemplarBatch } from './exemplars.js';
import { decodeMetadata, encodeMetadata, MetadataBatch } from './metadata.js';
import { decodeSamples, encodeSamples, SampleBatch } from './samples.js';
import { decodeSeries, encodeSeries, SeriesBatch } from './series.js';
import { decodeTombstones, encodeTombstones, TombstoneBatch } from './tombstones.js';
import { RecordType, recordType } from './type.js';
import type { Labels } from '../../storage/index.js';

export interface CheckpointFilterOptions {
  /** True while the head still has series `ref` (or still needs it). */
  keep: (ref: number) => boolean;
  /** Data older than this (ms) is dropped. */
  mint: number;
}

/** Counts of what the filter saw and dropped (Prometheus's `CheckpointStats`). */
export interface CheckpointFilterStats {
  totalSeries: number;
  droppedSeries: number;
  totalSamples: number;
  droppedSamples: number;
  totalTombstones: number;
  droppedTombstones: number;
  totalExemplars: number;
  droppedExemplars: number;
  totalMetadata: number;
  droppedMetadata: number;
  droppedRecords: number;
}

/** Structurally the same as `CheckpointFilter` in src/tsdb/wal (record never imports wal). */
export type RecordCheckpointFilter = ((rec: Uint8Array, out: Encbuf) => boolean) & {
  finish: (out: Encbuf) => boolean;
  stats: CheckpointFilterStats;
};

/** Builds the filter; one per checkpoint (it keeps state for metadata and stats). */
export function newCheckpointFilter(opts: CheckpointFilterOptions): RecordCheckpointFilter {
  const { keep, mint } = opts;
  const stats: CheckpointFilterStats = {
    totalSeries: 0,
    droppedSeries: 0,
    totalSamples: 0,
    droppedSamples: 0,
    totalTombstones: 0,
    droppedTombstones: 0,
    totalExemplars: 0,
    droppedExemplars: 0,
    totalMetadata: 0,
    droppedMetadata: 0,
    droppedRecords: 0,
  };
  // Scratch batches, reused for every record.
  const series = new SeriesBatch();
  const seriesKept = new SeriesBatch();
  const samples = new SampleBatch(1024);
  const samplesKept = new SampleBatch(1024);
  const tstones = new TombstoneBatch();
  const tstonesKept = new TombstoneBatch();
  const exemplars = new ExemplarBatch();
  const exemplarsKept = new ExemplarBatch();
  const meta = new MetadataBatch();
  const latestMeta = new Map<number, { type: number; unit: string; help: string }>();

  const filter = (rec: Uint8Array, out: Encbuf): boolean => {
    switch (recordType(rec)) {
      case RecordType.Series: {
        decodeSeries(rec, series);
        seriesKept.reset();
        for (let i = 0; i < series.length; i++) {
          const ref = series.refs[i] as number;
          if (keep(ref)) seriesKept.push(ref, series.labels[i] as Labels);
        }
        stats.totalSeries += series.length;
        stats.droppedSeries += series.length - seriesKept.length;
        if (seriesKept.length === 0) return dropped();
        if (seriesKept.length < series.length) encodeSeries(seriesKept, out);
        return true;
      }
      case RecordType.Samples: {
        decodeSamples(rec, samples);
        samplesKept.reset();
        for (let i = 0; i < samples.length; i++) {
          const t = samples.ts[i] as number;
          if (t < mint) continue;
          if (samples.stale[i] === 1) samplesKept.pushStale(samples.refs[i] as number, t);
          else samplesKept.push(samples.refs[i] as number, t, samples.vs[i] as number);
        }
        stats.totalSamples += samples.length;
        stats.droppedSamples += samples.length - samplesKept.length;
        if (samplesKept.length === 0) return dropped();
        // Kept whole: the original bytes, so even NaN payloads stay bit-exact.
        if (samplesKept.length < samples.length) encodeSamples(samplesKept, out);
        return true;
      }
      case RecordType.Tombstones: {
        decodeTombstones(rec, tstones);
        tstonesKept.reset();
        for (let i = 0; i < tstones.length; i++) {
          // Prometheus keeps every interval reaching mint, whatever the series (replay skips unknown refs).
          if ((tstones.maxts[i] as number) >= mint) tstonesKept.push(tstones.refs[i] as number, tstones.mints[i] as number, tstones.maxts[i] as number);
        }
        stats.totalTombstones += tstones.length;
        stats.droppedTombstones += tstones.length - tstonesKept.length;
        if (tstonesKept.length === 0) return dropped();
        if (tstonesKept.length < tstones.length) encodeTombstones(tstonesKept, out);
        return true;
      }
      case RecordType.Exemplars: {
        decodeExemplars(rec, exemplars);
        exemplarsKept.reset();
        for (let i = 0; i < exemplars.length; i++) {
          if ((exemplars.ts[i] as number) >= mint) {
            exemplarsKept.push(exemplars.refs[i] as number, exemplars.ts[i] as number, exemplars.vs[i] as number, exemplars.labels[i] as Labels);
          }
        }
        stats.totalExemplars += exemplars.length;
        stats.droppedExemplars += exemplars.length - exemplarsKept.length;
        if (exemplarsKept.length === 0) return dropped();
        if (exemplarsKept.length < exemplars.length) encodeExemplars(exemplarsKept, out);
        return true;
      }
      case RecordType.Metadata: {
        decodeMetadata(rec, meta);
        stats.totalMetadata += meta.length;
        for (let i = 0; i < meta.length; i++) {
          const ref = meta.refs[i] as number;
          if (!keep(ref)) {
            stats.droppedMetadata++;
            continue;
          }
          if (latestMeta.has(ref)) stats.droppedMetadata++; // superseded
          latestMeta.set(ref, { type: meta.types[i] as number, unit: meta.units[i] as string, help: meta.helps[i] as string });
        }
        return false; // written once, in finish()
      }
      case RecordType.HistogramSamples:
      case RecordType.FloatHistogramSamples:
        return true;
      default:
        return dropped();
    }
  };

  function dropped(): false {
    stats.droppedRecords++;
    return false;
  }

  const finish = (out: Encbuf): boolean => {
    if (latestMeta.size === 0) return false;
    meta.reset();
    for (const [ref, m] of latestMeta) meta.push(ref, m.type, m.unit, m.help);
    encodeMetadata(meta, out);
    return true;
  };

  return Object.assign(filter, { finish, stats });
}
