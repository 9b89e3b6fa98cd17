/**
 * Errors of the scrape layer. Each has a stable `code`; the message says what was
 * wrong and where, in words close to Prometheus's own (`lastError` on the targets API
 * shows them), so an operator can compare both side by side.
 *
 * Everything a target can do wrong is an error *value* that fails one scrape (up=0);
 * nothing here escapes a scrape loop as an unhandled rejection.
 */
export class ScrapeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Error codes, one per way a scrape can fail. */
export const ScrapeErrorCode = {
  /** Connection refused/reset, DNS, TLS, a broken gzip stream. */
  Fetch: 'MM_ERR_SCRAPE_FETCH',
  /** Response status other than 200. */
  HttpStatus: 'MM_ERR_SCRAPE_HTTP_STATUS',
  /** The whole request + body read took longer than scrape_timeout. */
  Timeout: 'MM_ERR_SCRAPE_TIMEOUT',
  /** Decompressed body reached body_size_limit. */
  BodySizeLimit: 'MM_ERR_SCRAPE_BODY_SIZE_LIMIT',
  /** The exposition could not be parsed (ParseError from textparse as cause). */
  Parse: 'MM_ERR_SCRAPE_PARSE',
  /** More samples than sample_limit after relabeling. */
  SampleLimit: 'MM_ERR_SCRAPE_SAMPLE_LIMIT',
  /** label_limit / label_name_length_limit / label_value_length_limit. */
  LabelLimit: 'MM_ERR_SCRAPE_LABEL_LIMIT',
  /** A series without `__name__`. */
  NoMetricName: 'MM_ERR_SCRAPE_NO_METRIC_NAME',
  /** Invalid metric name, label name, duplicate label name, or label value not UTF-8. */
  InvalidLabels: 'MM_ERR_SCRAPE_INVALID_LABELS',
  /** Storage rejected the scrape's transaction with an unexpected error. */
  Storage: 'MM_ERR_SCRAPE_STORAGE',
} as const;
export type ScrapeErrorCode = (typeof ScrapeErrorCode)[keyof typeof ScrapeErrorCode];

/** Thrown for bad target/scrape configuration (not for a failing scrape). */
export class TargetConfigError extends Error {
  readonly code = 'MM_ERR_TARGET_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'TargetConfigError';
  }
}

/** Thrown by `parseDuration` for a string that is not a Prometheus duration. */
export class DurationError extends Error {
  readonly code = 'MM_ERR_BAD_DURATION';
  constructor(s: string) {
    super(`not a valid duration string: ${JSON.stringify(s)}`);
    this.name = 'DurationError';
  }
}
