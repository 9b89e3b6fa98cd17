/**
 * `meta.json` of a block (Prometheus `tsdb/block.go` `BlockMeta`, spec §3).
 *
 * Written byte-for-byte as Go's `json.MarshalIndent(meta, "", "\t")`: the struct's
 * field order, tab indentation, no trailing newline, `omitempty` on the stats counters
 * and on `sources`/`deletable`/`parents`/`failed`/`hints`, and Go's string escaping
 * (`<`, `>`, `&`, U+2028/9 and control characters as \u00XX). `stats` and `compaction`
 * are structs, so they are always present (an all-zero stats is `{}`).
 * Written via `meta.json.tmp` + fsync + rename. Readers accept any key order and
 * unknown keys (Thanos adds a `thanos` section) and require `version` 1.
 */
import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';

export const META_FILENAME = 'meta.json';
/** The only meta format version Prometheus opens. */
export const META_VERSION_1 = 1;

export interface BlockStats {
  numSamples?: number;
  numSeries?: number;
  numChunks?: number;
  numTombstones?: number;
}

/** A block's identity and time range (Go `BlockDesc`); `maxTime` exclusive. */
export interface BlockDesc {
  ulid: string;
  minTime: number;
  maxTime: number;
}

export interface BlockMetaCompaction {
  /** 1 for blocks cut from the head or imported; max(parents)+1 after compaction. */
  level: number;
  /** ULIDs of all level-1 blocks this one was built from (sorted). */
  sources?: string[];
  /** Prometheus deletes the block on its next reload when true. */
  deletable?: boolean;
  /** Direct inputs of a compaction. Prometheus deletes every listed parent it finds. */
  parents?: BlockDesc[];
  /** Compaction of this block failed; the planner skips it. */
  failed?: boolean;
  hints?: string[];
}

/** Go `BlockMeta`. Time range is half-open: [minTime, maxTime). */
export interface BlockMeta {
  ulid: string;
  minTime: number;
  maxTime: number;
  stats: BlockStats;
  compaction: BlockMetaCompaction;
  version: number;
}

export class BlockMetaError extends Error {
  readonly code = 'MM_ERR_BLOCK_META';
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
    this.name = 'BlockMetaError';
  }
}

/** Go `encoding/json` string encoding (HTML-safe escaping, as Marshal does by default). */
export function goJSONString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) out += '\\u' + c.toString(16).padStart(4, '0');
    else if (c >= 0xd800 && c <= 0xdfff) {
      // A well-formed pair passes through; a lone surrogate is invalid UTF-8 → U+FFFD, as Go writes it.
      const d = s.charCodeAt(i + 1);
      if (c < 0xdc00 && d >= 0xdc00 && d <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else out += '\ufffd';
    } else out += s[i];
  }
  return out + '"';
}

function int(x: number, what: string): string {
  if (!Number.isSafeInteger(x)) throw new RangeError(`meta.json: ${what} must be an integer, got ${x}`);
  return String(x);
}

/** The exact bytes Go's `json.MarshalIndent(meta, "", "\t")` produces. */
export function marshalMeta(m: BlockMeta): string {
  const L: string[] = [];
  L.push('{');
  L.push(`\t"ulid": ${goJSONString(m.ulid)},`);
  L.push(`\t"minTime": ${int(m.minTime, 'minTime')},`);
  L.push(`\t"maxTime": ${int(m.maxTime, 'maxTime')},`);
  const st: string[] = [];
  const s = m.stats ?? {};
  if (s.numSamples) st.push(`\t\t"numSamples": ${int(s.numSamples, 'numSamples')}`);
  if (s.numSeries) st.push(`\t\t"numSeries": ${int(s.numSeries, 'numSeries')}`);
  if (s.numChunks) st.push(`\t\t"numChunks": ${int(s.numChunks, 'numChunks')}`);
  if (s.numTombstones) st.push(`\t\t"numTombstones": ${int(s.numTombstones, 'numTombstones')}`);
  if (st.length === 0) L.push('\t"stats": {},');
  else {
    L.push('\t"stats": {');
    L.push(st.join(',\n'));
    L.push('\t},');
  }
  const c = m.compaction;
  const cs: string[] = [`\t\t"level": ${int(c.level, 'compaction.level')}`];
  if (c.sources && c.sources.length > 0) cs.push('\t\t"sources": [\n' + c.sources.map((u) => `\t\t\t${goJSONString(u)}`).join(',\n') + '\n\t\t]');
  if (c.deletable) cs.push('\t\t"deletable": true');
  if (c.parents && c.parents.length > 0) {
    const ps = c.parents.map(
      (p) => `\t\t\t{\n\t\t\t\t"ulid": ${goJSONString(p.ulid)},\n\t\t\t\t"minTime": ${int(p.minTime, 'parent minTime')},\n\t\t\t\t"maxTime": ${int(p.maxTime, 'parent maxTime')}\n\t\t\t}`,
    );
    cs.push('\t\t"parents": [\n' + ps.join(',\n') + '\n\t\t]');
  }
  if (c.failed) cs.push('\t\t"failed": true');
  if (c.hints && c.hints.length > 0) cs.push('\t\t"hints": [\n' + c.hints.map((h) => `\t\t\t${goJSONString(h)}`).join(',\n') + '\n\t\t]');
  L.push('\t"compaction": {');
  L.push(cs.join(',\n'));
  L.push('\t},');
  L.push(`\t"version": ${int(m.version, 'version')}`);
  L.push('}');
  return L.join('\n');
}

/** Parses and validates meta.json content. `file` is used in errors. */
export function parseMeta(text: string, file = META_FILENAME): BlockMeta {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new BlockMetaError(file, `parse meta.json: ${(e as Error).message}`, { cause: e });
  }
  if (typeof j !== 'object' || j === null) throw new BlockMetaError(file, 'meta.json is not an object');
  const o = j as Record<string, unknown>;
  if (o.version !== META_VERSION_1) throw new BlockMetaError(file, `unexpected meta file version ${String(o.version)}`);
  if (typeof o.ulid !== 'string' || !/^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$/.test(o.ulid)) throw new BlockMetaError(file, `invalid ulid ${JSON.stringify(o.ulid)}`);
  const num = (v: unknown, what: string, def?: number): number => {
    if (v === undefined && def !== undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new BlockMetaError(file, `${what} is not a number`);
    return v;
  };
  const st = (o.stats ?? {}) as Record<string, unknown>;
  const cp = (o.compaction ?? {}) as Record<string, unknown>;
  const stats: BlockStats = {};
  for (const k of ['numSamples', 'numSeries', 'numChunks', 'numTombstones'] as const) {
    if (st[k] !== undefined) stats[k] = num(st[k], `stats.${k}`);
  }
  const compaction: BlockMetaCompaction = { level: num(cp.level, 'compaction.level', 0) };
  if (Array.isArray(cp.sources)) compaction.sources = cp.sources.map(String);
  if (cp.deletable === true) compaction.deletable = true;
  if (Array.isArray(cp.parents)) {
    compaction.parents = cp.parents.map((p: Record<string, unknown>) => ({ ulid: String(p.ulid), minTime: num(p.minTime, 'parent minTime'), maxTime: num(p.maxTime, 'parent maxTime') }));
  }
  if (cp.failed === true) compaction.failed = true;
  if (Array.isArray(cp.hints)) compaction.hints = cp.hints.map(String);
  return {
    ulid: o.ulid.toUpperCase(),
    minTime: num(o.minTime, 'minTime'),
    maxTime: num(o.maxTime, 'maxTime'),
    stats,
    compaction,
    version: META_VERSION_1,
  };
}

/** Reads `<dir>/meta.json`. Returns the meta and the file size. */
export function readMetaFile(dir: string): { meta: BlockMeta; size: number } {
  const path = join(dir, META_FILENAME);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BlockMetaError(path, `read meta.json: ${(e as Error).message}`, { cause: e });
  }
  return { meta: parseMeta(text, path), size: Buffer.byteLength(text) };
}

/** Writes `<dir>/meta.json` via `meta.json.tmp` + fsync + rename + dir fsync. Returns the size. */
export async function writeMetaFile(dir: string, meta: BlockMeta): Promise<number> {
  const path = join(dir, META_FILENAME);
  const tmp = path + '.tmp';
  const bytes = Buffer.from(marshalMeta(meta), 'utf8');
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  return bytes.length;
}
