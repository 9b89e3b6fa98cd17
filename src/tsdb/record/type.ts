/**
 * WAL record types: the first byte of every record (src: tsdb/record/record.go,
 * Prometheus 2.42). The log itself (../wal) never looks at it.
 */
export const RecordType = {
  Series: 1,
  Samples: 2,
  Tombstones: 3,
  Exemplars: 4,
  /** Out-of-order WBL only. */
  MmapMarkers: 5,
  /** Only written by Prometheus with `--enable-feature=metadata-wal-records`. */
  Metadata: 6,
  HistogramSamples: 7,
  FloatHistogramSamples: 8,
  /** Anything else; replay ignores it (Prometheus's `record.Unknown`). */
  Unknown: 255,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const NAMES: Record<number, string> = {
  1: 'series',
  2: 'samples',
  3: 'tombstones',
  4: 'exemplars',
  5: 'mmapmarkers',
  6: 'metadata',
  7: 'histogram_samples',
  8: 'float_histogram_samples',
};

/** Prometheus's `Type.String()`. */
export function recordTypeName(t: number): string {
  return NAMES[t] ?? 'unknown';
}

/** The record's type, `RecordType.Unknown` for an empty record or an unknown byte. */
export function recordType(rec: Uint8Array): RecordType {
  if (rec.length === 0) return RecordType.Unknown;
  const t = rec[0] as number;
  return t >= 1 && t <= 8 ? (t as RecordType) : RecordType.Unknown;
}

/** Metric type codes of metadata records (record.go `MetricType`). */
export const MetricType = {
  Unknown: 0,
  Counter: 1,
  Gauge: 2,
  Histogram: 3,
  GaugeHistogram: 4,
  Summary: 5,
  Info: 6,
  Stateset: 7,
} as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

const MT_NAMES = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'];

/** Name as in the exposition formats (`counter`, …); `unknown` for other codes. */
export function metricTypeName(t: number): string {
  return MT_NAMES[t] ?? 'unknown';
}
