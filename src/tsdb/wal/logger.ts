/**
 * The WAL logs very little: one line when it repairs a segment, one when it
 * writes a checkpoint. The interface is pino's `(obj, msg)` order so the app can
 * pass its pino logger; the default prints one line to stderr.
 */
export interface WalLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

function line(level: string, obj: Record<string, unknown>, msg: string): void {
  let s = `level=${level} component=wal msg=${JSON.stringify(msg)}`;
  for (const k of Object.keys(obj)) s += ` ${k}=${JSON.stringify(obj[k])}`;
  process.stderr.write(s + '\n');
}

/** Writes `level=… component=wal msg="…" k=v…` lines to stderr. */
export const stderrWalLogger: WalLogger = {
  info: (obj, msg) => line('info', obj, msg),
  warn: (obj, msg) => line('warn', obj, msg),
};

/** Drops everything (tests that corrupt on purpose and check the returned report instead). */
export const nopWalLogger: WalLogger = {
  info: () => {},
  warn: () => {},
};
