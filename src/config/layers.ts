/**
 * Layers and merging. Each source of settings (defaults, Mattermost config.json, YAML file,
 * environment, CLI flags) becomes a ConfigLayer: an input tree plus a way to say where a path
 * was set. Layers are merged in precedence order
 *
 *     defaults < Mattermost config.json < YAML file < environment < CLI flags
 *
 * with these rules: mappings merge key by key; scalars and lists replace (a list from a higher
 * layer replaces the whole list below); null means "not set here" (YAML `scrape:` with
 * nothing under it changes nothing). The merger remembers which layer set each path, so a
 * validation error can name its source.
 */
import type { z } from 'zod';
import type { InputTree, InputValue } from './defaults.js';
import type { ConfigIssue } from './errors.js';

export interface ConfigLayer {
  /** Short name for messages: "defaults", "YAML file /etc/x.yaml", "environment", "command line". */
  name: string;
  values: InputTree;
  /**
   * Where `path` was set in this layer ("/etc/x.yaml:3:13", "env MM_METRICS_SCRAPE_INTERVAL");
   * '' for the defaults. Paths may go below what the layer set (into a list it set), with
   * numeric list indices.
   */
  describe(path: readonly (string | number)[]): string;
}

export function isTree(v: unknown): v is InputTree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Dotted display path: ["targets","static",0,"job"] → "targets.static[0].job". */
export function pathString(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

function clone(v: InputValue): InputValue {
  if (Array.isArray(v)) return v.map(clone);
  if (isTree(v)) {
    const o: InputTree = {};
    for (const [k, x] of Object.entries(v)) setOwn(o, k, clone(x));
    return o;
  }
  return v;
}

/** Assigns an own enumerable property, even for "__proto__" (which then shows up as an unknown key, not a prototype change). */
function setOwn(o: InputTree, k: string, v: InputValue): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Result of merging: the combined input tree and which layer set each path. */
export interface Merged {
  values: InputTree;
  /** Dotted path ("a.b.c", no list indices) → the layer that set it last. */
  sources: Map<string, ConfigLayer>;
}

export function mergeLayers(layers: readonly ConfigLayer[]): Merged {
  const values: InputTree = {};
  const sources = new Map<string, ConfigLayer>();
  for (const layer of layers) mergeInto(values, layer.values, layer, [], sources);
  return { values, sources };
}

function mergeInto(target: InputTree, src: InputTree, layer: ConfigLayer, path: string[], sources: Map<string, ConfigLayer>): void {
  for (const [k, v] of Object.entries(src)) {
    if (v === null || v === undefined) continue;
    const p = [...path, k];
    const cur = Object.prototype.hasOwnProperty.call(target, k) ? target[k] : undefined;
    if (isTree(v) && isTree(cur)) {
      mergeInto(cur, v, layer, p, sources);
      continue;
    }
    setOwn(target, k, clone(v));
    // A replaced subtree forgets the sources recorded below it.
    const key = p.join('.');
    for (const s of [...sources.keys()]) if (s.startsWith(key + '.')) sources.delete(s);
    sources.set(key, layer);
    if (isTree(v)) recordLeaves(v, p, layer, sources);
  }
}

function recordLeaves(v: InputTree, path: string[], layer: ConfigLayer, sources: Map<string, ConfigLayer>): void {
  for (const [k, x] of Object.entries(v)) {
    const p = [...path, k];
    sources.set(p.join('.'), layer);
    if (isTree(x)) recordLeaves(x, p, layer, sources);
  }
}

/**
 * Where the value at an issue path came from: the layer that set the longest prefix of the
 * path describes the full path (so a YAML layer can point into a list it set); '' for defaults.
 */
export function sourceOf(sources: Map<string, ConfigLayer>, path: readonly PropertyKey[]): string {
  const full = path.filter((p): p is string | number => typeof p === 'string' || typeof p === 'number');
  for (let n = full.length; n > 0; n--) {
    const prefix = full.slice(0, n);
    if (typeof prefix[n - 1] === 'number') continue;
    const layer = sources.get(prefix.filter((p) => typeof p === 'string').join('.'));
    if (layer !== undefined) return layer.describe(full);
  }
  return '';
}

/** Keys a strict object schema allows at `path` (walking object shapes and array elements). */
export function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let cur: unknown = schema;
  const unwrap = (s: unknown): unknown => {
    // Pipes (transform/refine wrappers) and optionals keep the object in `in` / `innerType`.
    let x = s as { def?: { type?: string; in?: unknown; innerType?: unknown; schema?: unknown } };
    for (let i = 0; i < 8 && x?.def !== undefined; i++) {
      const d = x.def;
      if (d.type === 'pipe') x = d.in as typeof x;
      else if (d.type === 'optional' || d.type === 'default' || d.type === 'nullable') x = d.innerType as typeof x;
      else break;
    }
    return x;
  };
  for (const p of path) {
    cur = unwrap(cur);
    const def = (cur as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } }).def;
    if (def?.type === 'object' && typeof p === 'string') cur = def.shape?.[p];
    else if (def?.type === 'array' && typeof p === 'number') cur = def.element;
    else return [];
  }
  cur = unwrap(cur);
  const def = (cur as { def?: { type?: string; shape?: Record<string, unknown> } }).def;
  return def?.type === 'object' && def.shape !== undefined ? Object.keys(def.shape) : [];
}

/** Levenshtein distance, for "did you mean" hints on unknown keys. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[y.length]!;
}

/** The closest candidate within distance 3 (or a case-insensitive match), else ''. */
export function suggest(word: string, candidates: readonly string[]): string {
  let best = '';
  let bestD = 4;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** Converts zod issues into ConfigIssues with key paths, allowed keys and sources. */
export function toConfigIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], sources: Map<string, ConfigLayer>): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys') {
      const allowed = allowedKeys(schema, iss.path);
      for (const k of iss.keys) {
        const p = [...iss.path, k];
        const hint = suggest(k, allowed);
        out.push({
          path: pathString(p),
          message: `unknown setting${hint !== '' ? ` (did you mean "${hint}"?)` : ''}; allowed here: ${allowed.join(', ')}`,
          source: sourceOf(sources, p),
        });
      }
      continue;
    }
    let source = sourceOf(sources, iss.path);
    const trigger = iss.code === 'custom' ? (iss.params as { because?: string[] } | undefined)?.because : undefined;
    if (source === '' && trigger !== undefined) {
      const s = sourceOf(sources, trigger);
      if (s !== '') source = `${trigger.join('.')} set by ${s}`;
    }
    out.push({ path: pathString(iss.path), message: iss.message, source });
  }
  return out;
}
