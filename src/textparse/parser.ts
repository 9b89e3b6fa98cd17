/**
 * Pull-parser contract shared by the Prometheus text 0.0.4 parser (`promtext.ts`) and
 * the OpenMetrics 1.0 parser (`openmetrics.ts`). Modelled on Prometheus's
 * model/textparse/interface.go so behaviour can be compared line by line.
 *
 * Use:
 *   for (let e = p.next(); e !== Entry.EOF; e = p.next()) { switch (e) { … } }
 * `next()` throws `ParseError` (line, column, what was expected) on bad input;
 * nothing else is ever thrown for any input bytes.
 *
 * Ownership: byte views returned (`series()`, `helpName()` …) are subarrays of the
 * input body and are valid until the body is released; do not keep them across
 * scrapes unless copied. Strings are decoded lazily, only when asked for.
 * Single-threaded; one parser per body.
 */
/**
 * Where `labels()` writes. Structural, so storage's `LabelsBuilder` fits without this
 * leaf layer importing it.
 */
export interface LabelSink {
  reset(): unknown;
  set(name: string, value: string): unknown;
}

export const Entry = {
  Invalid: -1,
  Type: 0,
  Help: 1,
  Series: 2,
  Comment: 3,
  Unit: 4,
  Histogram: 5,
  EOF: 6,
} as const;
export type Entry = (typeof Entry)[keyof typeof Entry];

/** Metric types as written in `# TYPE` (OpenMetrics names; 0.0.4's `untyped` maps to `unknown`). */
export const MetricType = {
  Counter: 'counter',
  Gauge: 'gauge',
  Histogram: 'histogram',
  GaugeHistogram: 'gaugehistogram',
  Summary: 'summary',
  Info: 'info',
  Stateset: 'stateset',
  Unknown: 'unknown',
} as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

/** One exemplar attached to the current sample (OpenMetrics only). */
export interface Exemplar {
  /** flat `[name, value, …]` as written */
  labels: string[];
  value: number;
  hasTimestamp: boolean;
  /** ms; valid when hasTimestamp */
  timestamp: number;
}

export interface Parser {
  /** Advances to the next entry; `Entry.EOF` at the end. Throws `ParseError`. */
  next(): Entry;

  /**
   * Raw bytes of the current series as written in the exposition, e.g.
   * `http_requests_total{code="200"}` (without value/timestamp). Used as the scrape-cache key.
   * Valid after `next()` returned `Entry.Series`.
   */
  series(): Uint8Array;
  /**
   * Optional, zero-allocation alternative to `series()` (both textparse parsers have
   * it): the series bytes are `body[seriesStartOffset(), seriesEndOffset())` of the
   * body the parser was created with.
   */
  seriesStartOffset?(): number;
  seriesEndOffset?(): number;
  /**
   * Sample value (NaN, ±Inf allowed). A NaN comes back as JS NaN; Prometheus stores
   * every parsed NaN with the bits 0x7FF8000000000001 (storage/value.ts
   * NORMAL_NAN_*), so encoders must write those bits, never the JS NaN's.
   */
  value(): number;
  /** Whether the current sample carried a timestamp. */
  hasTimestamp(): boolean;
  /**
   * Timestamp in ms. 0.0.4: the int64 as written (exact up to 2^53; larger values,
   * ~285,000 years out, come back as the nearest double). OpenMetrics: float seconds
   * converted as Prometheus does, `int64(ts * 1000)` (truncation; -2^63 when out of
   * range, as on amd64).
   */
  timestamp(): number;
  /**
   * Resets `sink`, then sets the current series' labels into it: `__name__` first,
   * then every pair in written order, values unescaped. Like Prometheus's parser it
   * does not judge the set: empty values and repeated names are passed through as
   * written (2.42 drops every pair whose name has an empty value in the scrape loop's
   * labels.Builder, and fails the scrape on a remaining repeat in the head appender;
   * see textparse/index.ts for which layer rejects what). Never throws.
   */
  labels(sink: LabelSink): void;

  /** After `Entry.Help`: metric family name and unescaped help text. */
  help(): { name: string; text: string };
  /** After `Entry.Type`: metric family name and its type. */
  type(): { name: string; type: MetricType };
  /** After `Entry.Unit`: metric family name and unit. */
  unit(): { name: string; unit: string };
  /** After `Entry.Comment`: the comment text. */
  comment(): string;
  /**
   * After `Entry.Series`: the exemplar attached to this sample, or null (OpenMetrics
   * only). Label values are as written (not unescaped), as 2.42 stores them; without
   * a timestamp Prometheus uses the sample's own timestamp.
   */
  exemplar(): Exemplar | null;
  /** After `Entry.Series` of an OpenMetrics `_created` sample or sample with created info: ms, or null. */
  createdTimestamp(): number | null;
}
