/**
 * textparse: the exposition parsers (Prometheus text 0.0.4 and OpenMetrics 1.0),
 * with Prometheus 2.42's acceptance rules. Leaf layer: imports nothing of ours.
 *
 * Which layer rejects what (observed on a real 2.42, see test/textparse):
 *
 *   parser (`next()` throws ParseError)           scrape loop / appender (not here)
 *   ──────────────────────────────────────────    ───────────────────────────────────
 *   lexical/syntax errors, bad float/timestamp    invalid metric name, e.g. a 0.0.4
 *   invalid UTF-8 in a label value or HELP text     line starting with blanks: the
 *   bad TYPE word; OM: missing `# EOF`, data        parser yields `__name__=" foo"`
 *     after it, UNIT not a suffix, exemplar on    pairs whose name has an empty value
 *     a sample not named *_total / *_bucket          anywhere: all dropped (Builder)
 *                                                 repeated label name → scrape fails
 *   `labels()` never throws and passes every      missing `__name__` (`{__name__=""}`)
 *   pair through as written (empties, repeats)    label/sample limits
 *
 * The UTF-8 check of label values happens in the parser in 2.42 ("invalid UTF-8
 * label value"); the scrape loop's `IsValid` re-checks after relabeling, which is
 * what `isValidUTF8` is exported for.
 */
import { MediaType, mediaTypeOf } from './content-type.js';
import { ParseError } from './errors.js';
import { OpenMetricsParser } from './openmetrics.js';
import { Entry, MetricType, type Exemplar, type LabelSink, type Parser } from './parser.js';
import { PromTextParser } from './promtext.js';
import { latin1String } from './utf8.js';

export { ParseError } from './errors.js';
export { Entry, MetricType, type Exemplar, type LabelSink, type Parser } from './parser.js';
export { PromTextParser } from './promtext.js';
export { OpenMetricsParser } from './openmetrics.js';
export { MediaType, mediaTypeOf, goParseMediaType } from './content-type.js';
export { isValidUTF8, latin1String } from './utf8.js';
export { parseGoFloat, parseGoInt64, goFloatToInt64 } from './numbers.js';

/**
 * Stand-in for 2.42's protobuf parser, chosen for `application/vnd.google.protobuf`
 * responses: we do not parse protobuf (2.42 only asks for it with native
 * histograms enabled). An empty body parses to nothing, as it would in 2.42;
 * anything else fails the scrape with a ParseError.
 */
class UnsupportedProtobufParser implements Parser {
  private readonly empty: boolean;
  constructor(body: Uint8Array) {
    this.empty = body.length === 0;
  }
  next(): Entry {
    if (this.empty) return Entry.EOF;
    throw new ParseError(1, 1, 'expected a text exposition, got application/vnd.google.protobuf (not supported)');
  }
  series(): Uint8Array {
    return new Uint8Array(0);
  }
  value(): number {
    return 0;
  }
  hasTimestamp(): boolean {
    return false;
  }
  timestamp(): number {
    return 0;
  }
  labels(sink: LabelSink): void {
    sink.reset();
  }
  help(): { name: string; text: string } {
    return { name: '', text: '' };
  }
  type(): { name: string; type: MetricType } {
    return { name: '', type: MetricType.Unknown };
  }
  unit(): { name: string; unit: string } {
    return { name: '', unit: '' };
  }
  comment(): string {
    return '';
  }
  exemplar(): Exemplar | null {
    return null;
  }
  createdTimestamp(): number | null {
    return null;
  }
}

/**
 * The parser Prometheus 2.42 would use for `body` served with `contentType` (the
 * response's Content-Type header, or null when absent): OpenMetrics for media type
 * `application/openmetrics-text` (any parameters, any case), 0.0.4 for everything
 * else including a missing or malformed header. Never throws; parse errors surface
 * from `next()`.
 */
export function newParser(body: Uint8Array, contentType: string | null): Parser {
  switch (mediaTypeOf(contentType)) {
    case MediaType.OpenMetrics:
      return new OpenMetricsParser(body);
    case MediaType.Protobuf:
      return new UnsupportedProtobufParser(body);
    default:
      return new PromTextParser(body);
  }
}

/**
 * Scrape-cache key for the bytes `series()` returned: one char per byte, so keys
 * are equal exactly when the raw series bytes are (what Prometheus's
 * `scrapeCache` keys on). Costs one string allocation; compare lengths first.
 */
export function seriesKey(series: Uint8Array): string {
  return latin1String(series, 0, series.length);
}
