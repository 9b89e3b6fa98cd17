/**
 * The only error a parser throws. `line` and `column` are 1-based positions in the
 * body; the message says what was expected and what was found, e.g.
 * `line 12, column 7: expected label name, got "{"`.
 */
export class ParseError extends Error {
  readonly code = 'MM_ERR_PARSE';
  constructor(
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`line ${line}, column ${column}: ${detail}`);
    this.name = 'ParseError';
  }
}
