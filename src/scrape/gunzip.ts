/**
 * Inflates gzip scrape bodies into one reusable output buffer per target.
 *
 * `zlib.gunzipSync` creates a zlib engine (about 40 KB of native state) and a fresh output
 * buffer the size of the body (~0.7 MB for a Mattermost node) on every call. At 10 targets
 * every second that is 7–8 MB/s of ArrayBuffers, which V8 only frees when it collects their
 * wrappers; a scrape allocates little on the JS heap, so collections are seconds apart and
 * dead bodies piled up: reusing the engine and buffer took the service from 231 MB to
 * 198–204 MB RSS and ~14 % less CPU (bench/macro/side-by-side.ts, docs/notes/session-3.md).
 *
 * Here one engine per target is reset and reused, and the output goes into a buffer that is
 * kept across scrapes (and shrunk after a run of small bodies). The engine is driven the way
 * Node's own `gunzipSync` drives it (lib/zlib.js `processChunkSync`: `_handle.writeSync`
 * with Z_FINISH into a caller-chosen output range, the counts read back from
 * `_writeState`), so the same bytes inflate to the same output and fail with the same
 * errors. Those two members are not public API: when they are missing (another Node major),
 * `inflate` falls back to `gunzipSync`, which gives the same results with the old cost.
 */
import zlib from 'node:zlib';
import { ShrinkPolicy } from './shrink.js';

/** What Node's zlib binding exposes on a Gunzip stream (lib/zlib.js, Node 14–22). */
interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
}
interface EngineInternals {
  _handle: ZlibHandle | null;
  _writeState: Uint32Array;
  /** Public (zlib.md "zlib.reset()"), missing from @types/node's Gunzip. */
  reset(): void;
}

/** `code` says which: the body inflates to `limit` bytes or more, or the gzip data is bad. */
export class GunzipError extends Error {
  readonly code: 'too_large' | 'corrupt';
  constructor(code: 'too_large' | 'corrupt', message: string) {
    super(message);
    this.name = 'GunzipError';
    this.code = code;
  }
}

const MIN_OUT = 64 * 1024;
/** `ReusableGunzip.supported()`, once known. */
let supportedCache: boolean | null = null;
const noop = (): void => {};

export class ReusableGunzip {
  private engine: zlib.Gunzip | null;
  private out: Uint8Array;
  /** Halves `out` after a run of small bodies. */
  private readonly shrink: ShrinkPolicy;
  /** False when this Node lacks the engine internals used here: every call uses gunzipSync. */
  private readonly direct: boolean;

  /** `forceFallback` is for tests of the gunzipSync path. */
  constructor(forceFallback = false) {
    this.engine = null;
    this.out = new Uint8Array(0);
    this.shrink = new ShrinkPolicy(MIN_OUT);
    this.direct = !forceFallback && ReusableGunzip.supported();
  }

  /** Whether this Node's Gunzip streams expose what `inflate` drives directly (probed once per process). */
  static supported(): boolean {
    if (supportedCache === null) {
      const e = zlib.createGunzip() as unknown as Partial<EngineInternals> & zlib.Gunzip;
      supportedCache = typeof e._handle?.writeSync === 'function' && e._writeState instanceof Uint32Array;
      e.close();
    }
    return supportedCache;
  }

  /**
   * Inflates `input` (one gzip body, possibly several members). Returns a view that stays
   * valid until the next call. `limit` > 0: an output of `limit` bytes or more throws
   * GunzipError 'too_large' (the body size limit's `>=` rule), and stops inflating there.
   */
  inflate(input: Uint8Array, limit: number): Uint8Array {
    if (!this.direct) return this.fallback(input, limit);
    const e = this.engine ?? this.newEngine();
    const internals = e as unknown as EngineInternals;
    const state = internals._writeState;
    let out = this.out;
    let outOff = 0;
    let inOff = 0;
    let inLen = input.length;
    for (;;) {
      if (outOff === out.length) {
        // Output full (or not allocated yet): grow, to at most `limit`, which is enough to
        // see the limit reached. zlib must never be handed an empty output range: it
        // reports that as an error. The buffer stays for the target's next bodies, so it
        // grows by half (a 700 KB body ends in 729 KB, not 1 MiB); the copies happen once.
        let cap = Math.max(MIN_OUT, Math.ceil(out.length * 1.5));
        if (limit > 0 && cap > limit) cap = limit;
        const nb = new Uint8Array(cap);
        nb.set(out.subarray(0, outOff));
        out = nb;
        this.out = nb;
      }
      const avail = out.length - outOff;
      const handle = internals._handle;
      if (handle === null) throw this.broken(e);
      handle.writeSync(zlib.constants.Z_FINISH, input, inOff, inLen, out, outOff, avail);
      // An error is reported synchronously through the handle's onerror, which destroys the stream.
      if (e.destroyed) throw this.broken(e);
      const availOut = state[0] as number;
      const availIn = state[1] as number;
      outOff += avail - availOut;
      inOff += inLen - availIn;
      inLen = availIn;
      if (limit > 0 && outOff >= limit) {
        this.discard();
        throw new GunzipError('too_large', `inflated body reached the limit of ${limit} bytes`);
      }
      if (availOut !== 0) break;
    }
    internals.reset();
    const cap = this.shrink.after(outOff, out.length);
    // The view being returned keeps the old buffer alive until the caller drops it.
    if (cap > 0) this.out = new Uint8Array(cap);
    return out.subarray(0, outOff);
  }

  /** Frees the engine (the output buffer goes with the object). */
  close(): void {
    this.discard();
    this.out = new Uint8Array(0);
  }

  private newEngine(): zlib.Gunzip {
    const e = zlib.createGunzip({ chunkSize: 1024 });
    // Errors surface synchronously in inflate(); the stream's own 'error' event would
    // otherwise be unhandled.
    e.on('error', noop);
    this.engine = e;
    return e;
  }

  private broken(e: zlib.Gunzip): GunzipError {
    const msg = e.errored?.message ?? 'zlib engine closed';
    this.discard();
    return new GunzipError('corrupt', msg);
  }

  /** Drops the engine (after an error or a cut-short body its state is unusable). */
  private discard(): void {
    const e = this.engine;
    this.engine = null;
    if (e !== null && !e.destroyed) e.close();
  }

  private fallback(input: Uint8Array, limit: number): Uint8Array {
    try {
      return zlib.gunzipSync(input, limit > 0 ? { maxOutputLength: limit - 1 } : {});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new GunzipError('too_large', `inflated body reached the limit of ${limit} bytes`);
      }
      throw new GunzipError('corrupt', (err as Error).message);
    }
  }
}
