/**
 * Deterministic Mattermost-like TSDB blocks for the dump benchmark, written directly as
 * 2 h blocks (no WAL, no head), in the file-store layout the shipper produces:
 *
 *   <cache>/store/plugin-data/mattermost-plugin-metrics/data/<ULID>/{meta.json,index,chunks/000001,tombstones}
 *   <cache>/complete.json      written last: the cache is valid only when it exists
 *
 * The cache directory is keyed by every parameter (and GEN_VERSION), so a re-run with
 * the same parameters reuses the blocks and a change of generator regenerates them.
 *
 * Series (per instance `mm-app-N:8067`, ~2,500 each, filled up to the requested total):
 *   mattermost_api_time_{bucket,sum,count}   handler × method × origin_client × page_load_context × status_code,
 *                                            12 `le` buckets (cumulative, integer), float sums
 *   mattermost_db_store_time_{bucket,sum,count}
 *   counters (cache hits/misses, websocket broadcasts, cluster events, posts) that grow, with rare resets
 *   gauges (per-hub buffers, process/go runtime) as random walks
 *   up, scrape_duration_seconds, scrape_samples_scraped
 * A few percent of the histogram groups exist only for part of the range (churn).
 * Scrapes every `intervalMs` with a per-instance offset and rare millisecond jitter, so
 * each series has 120 samples per 2 h block, cut into chunks by the same rule as
 * Prometheus's head (ChunkCutter, 2 h chunk range).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../../src/storage/index.js';
import { ChunkCutter, XORChunk, type XORAppender } from '../../src/tsdb/chunkenc/index.js';
import type { ChunkMeta } from '../../src/tsdb/chunks/index.js';
import { writeBlock, type BlockSeries } from '../../src/tsdb/block/index.js';

export const GEN_VERSION = 1;
export const DATA_ROOT = 'plugin-data/mattermost-plugin-metrics/data';
const BLOCK_MS = 2 * 3_600_000;

export interface GenParams {
  seed: number;
  series: number;
  days: number;
  intervalMs: number;
  /** First block start (ms, 2 h aligned). */
  startMs: number;
}

export interface GenResult {
  cacheDir: string;
  storeRoot: string;
  blocks: Array<{ ulid: string; minTime: number; maxTime: number; bytes: number }>;
  series: number;
  samples: number;
  bytes: number;
  genSeconds: number;
}

/** mulberry32 state in a closure-free class (one per group, deterministic). */
class Rng {
  s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

const LE = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];
const HANDLERS = [
  'getPostsForChannel', 'createPost', 'getUser', 'getChannel', 'updateUserStatus', 'getTeamMembers', 'viewChannel', 'getChannelMembers',
  'searchPosts', 'getFileInfo', 'uploadFileStream', 'getPreferences', 'patchPost', 'deletePost', 'getThreadsForUser', 'getEmojiList',
  'login', 'logout', 'getClientConfig', 'getLicense', 'getPluginStatuses', 'executeCommand', 'getUsersByIds', 'getChannelsForTeamForUser',
  'getPostThread', 'saveReaction', 'getFlaggedPosts', 'autocompleteUsers', 'getTeam', 'getRecentMentions', 'getUsersInChannel', 'getTeamsForUser',
  'getChannelUnread', 'getPostsAroundLastUnread', 'getUserStatusesByIds', 'getTermsOfService', 'getAllChannels', 'getUsersStats',
];
const STORE = [
  'PostStore.GetPostsSince', 'ChannelStore.Get', 'UserStore.Get', 'SessionStore.Get', 'PostStore.Save', 'ChannelStore.GetMember', 'TeamStore.GetMember',
  'StatusStore.Get', 'PreferenceStore.GetAll', 'FileInfoStore.Get', 'ThreadStore.GetThreadsForUser', 'ReactionStore.Save', 'PostStore.GetSingle',
  'ChannelStore.GetChannels', 'UserStore.GetProfileByIds', 'TeamStore.GetTeamsForUser', 'WebhookStore.GetIncoming', 'SystemStore.Get',
];
const CACHES = ['Session', 'Profile', 'Channel', 'ChannelMembers', 'Post', 'Status', 'Team', 'Webhook', 'Emoji', 'Reaction', 'FileInfo', 'Role'];
const WS = ['posted', 'typing', 'status_change', 'channel_viewed', 'reaction_added', 'post_edited', 'user_updated', 'new_user', 'hello', 'thread_updated'];
const CLUSTER = ['publish', 'inv_channel', 'update_status', 'inv_user', 'inv_team', 'other'];

const GroupKind = { Histogram: 0, Counter: 1, Gauge: 2, Up: 3, Duration: 4 } as const;
type GroupKind = (typeof GroupKind)[keyof typeof GroupKind];

/** A set of series whose values are generated together (a histogram: buckets + sum + count). */
class Group {
  readonly kind: GroupKind;
  readonly inst: number;
  readonly labels: Labels[];
  readonly rng: Rng;
  /** Current value per series. */
  readonly v: Float64Array;
  /** Cumulative bucket fractions (histograms), else unused. */
  readonly frac: Float64Array;
  readonly rate: number;
  readonly mean: number;
  /** First and last (exclusive) scrape index in which the group exists. */
  readonly from: number;
  readonly to: number;
  constructor(kind: GroupKind, inst: number, labels: Labels[], seed: number, rate: number, mean: number, from: number, to: number) {
    this.kind = kind;
    this.inst = inst;
    this.labels = labels;
    this.rng = new Rng(seed);
    this.v = new Float64Array(labels.length);
    this.frac = new Float64Array(labels.length);
    this.rate = rate;
    this.mean = mean;
    this.from = from;
    this.to = to;
    if (kind === GroupKind.Histogram) {
      let f = 0.15 + this.rng.next() * 0.4;
      for (let i = 0; i < LE.length; i++) {
        f = i === LE.length - 1 ? 1 : Math.min(1, f + this.rng.next() * 0.12);
        this.frac[i] = f;
      }
    } else if (kind === GroupKind.Counter) {
      this.v[0] = Math.floor(this.rng.next() * 1e6);
    } else if (kind === GroupKind.Gauge) {
      this.v[0] = mean;
    }
  }

  /** Advances one scrape; values land in `this.v`. */
  step(): void {
    const r = this.rng;
    const v = this.v;
    switch (this.kind) {
      case GroupKind.Histogram: {
        if (r.next() < 0.0002) v.fill(0); // process restart: every counter resets
        const inc = Math.floor(this.rate * (0.4 + 1.2 * r.next()));
        const nb = LE.length;
        let prev = 0;
        for (let i = 0; i < nb; i++) {
          const c = Math.max(prev, Math.floor(inc * (this.frac[i] as number)));
          v[i] = (v[i] as number) + c;
          prev = c;
        }
        v[nb] = (v[nb] as number) + inc * this.mean * (0.5 + r.next()); // _sum: float
        v[nb + 1] = (v[nb + 1] as number) + inc; // _count
        break;
      }
      case GroupKind.Counter:
        if (r.next() < 0.0002) v[0] = 0;
        v[0] = (v[0] as number) + Math.floor(this.rate * (0.5 + r.next()));
        break;
      case GroupKind.Gauge:
        v[0] = Math.max(0, Math.round(((v[0] as number) + (r.next() - 0.5) * this.rate) * 100) / 100);
        break;
      case GroupKind.Up:
        v[0] = 1;
        v[1] = Math.floor(this.mean * (0.9 + 0.2 * r.next()));
        break;
      case GroupKind.Duration:
        v[0] = 0.02 + r.next() * 0.05;
        break;
    }
  }
}

/** Builds exactly `total` series in groups, deterministic in `seed`. */
function buildGroups(total: number, seed: number, scrapes: number): Group[] {
  const instances = Math.max(1, Math.round(total / 2500));
  const perInst = Math.ceil(total / instances);
  const groups: Group[] = [];
  const pick = new Rng(seed ^ 0x5eed);
  let count = 0;
  let gid = 0;
  const add = (g: Group) => {
    groups.push(g);
    count += g.labels.length;
  };
  for (let inst = 0; inst < instances; inst++) {
    const instance = `mm-app-${inst + 1}:8067`;
    const budget = Math.min(perInst, total - count);
    const end = count + budget;
    const L = (name: string, ...kv: string[]) => Labels.fromPairs('__name__', name, 'instance', instance, 'job', 'mattermost', ...kv);
    const churn = (): [number, number] => {
      const x = pick.next();
      if (x < 0.03) return [Math.floor(pick.next() * scrapes * 0.6), scrapes];
      if (x < 0.05) return [0, Math.max(1, Math.floor(scrapes * (0.2 + 0.6 * pick.next())))];
      return [0, scrapes];
    };
    const fits = (n: number) => count + n <= end;
    // Fixed part of every instance: scrape series, counters, gauges, store histograms.
    if (fits(3)) {
      add(new Group(GroupKind.Up, inst, [L('up'), L('scrape_samples_scraped')], seed + gid++, 0, perInst, 0, scrapes));
      add(new Group(GroupKind.Duration, inst, [L('scrape_duration_seconds')], seed + gid++, 0, 0, 0, scrapes));
    }
    const counter = (name: string, rate: number, ...kv: string[]) => {
      if (fits(1)) add(new Group(GroupKind.Counter, inst, [L(name, ...kv)], seed + gid++, rate, 0, 0, scrapes));
    };
    for (const c of CACHES) {
      counter('mattermost_cache_mem_hit_total', 3000 * pick.next(), 'name', c);
      counter('mattermost_cache_mem_miss_total', 300 * pick.next(), 'name', c);
    }
    for (const w of WS) counter('mattermost_websocket_broadcasts_total', 1000 * pick.next(), 'name', w);
    for (const c of CLUSTER) counter('mattermost_cluster_cluster_event_type_totals', 60 * pick.next(), 'name', c);
    counter('mattermost_post_total', 180);
    counter('mattermost_http_requests_total', 5000);
    counter('process_cpu_seconds_total', 30);
    const gauge = (name: string, mean: number, step: number, ...kv: string[]) => {
      if (fits(1)) add(new Group(GroupKind.Gauge, inst, [L(name, ...kv)], seed + gid++, step, mean, 0, scrapes));
    };
    for (let hub = 0; hub < 16; hub++) gauge('mattermost_websocket_broadcast_buffer_size', 10 * pick.next(), 4, 'hub', String(hub));
    gauge('process_resident_memory_bytes', 3.2e8, 2e6);
    gauge('process_open_fds', 120, 3);
    gauge('go_goroutines', 850, 20);
    gauge('go_memstats_heap_alloc_bytes', 1.5e8, 4e6);
    gauge('mattermost_http_websockets', 40, 2);
    gauge('mattermost_db_master_connections_total', 20, 1);
    const hist = (family: string, rate: number, mean: number, ...kv: string[]) => {
      if (!fits(LE.length + 2)) return false;
      const ls: Labels[] = LE.map((le) => L(family + '_bucket', ...kv, 'le', le));
      ls.push(L(family + '_sum', ...kv), L(family + '_count', ...kv));
      const [from, to] = churn();
      add(new Group(GroupKind.Histogram, inst, ls, seed + gid++, rate, mean, from, to));
      return true;
    };
    for (const m of STORE) hist('mattermost_db_store_time', 400 * pick.next() ** 3 + 0.5, 0.004, 'method', m, 'success', 'true');
    // API histograms until the instance's share is used up.
    outer: for (let h = 0; ; h++) {
      const handler = (HANDLERS[h % HANDLERS.length] as string) + (h >= HANDLERS.length ? `V${Math.floor(h / HANDLERS.length)}` : '');
      const method = h % 5 === 1 ? 'POST' : 'GET';
      const codes = h % 3 === 0 ? ['200', '304'] : h % 7 === 0 ? ['200', '403', '500'] : ['200'];
      for (const code of codes) {
        for (const client of ['web', 'desktop', 'mobile']) {
          const kv = ['handler', handler, 'method', method, 'origin_client', client, 'page_load_context', h % 4 === 0 ? 'page_load' : 'other', 'status_code', code];
          // Traffic is heavily skewed: a few hot handlers, most see a request now and then.
          const u = pick.next();
          if (!hist('mattermost_api_time', (code === '200' ? 200 : 5) * u * u * u * u, 0.05 + pick.next() * 0.3, ...kv)) break outer;
        }
      }
    }
    // Fill the remainder (< one histogram) with gauges so the total is exact.
    for (let k = 0; count < end; k++) gauge('mattermost_plugin_hook_buffer', 5, 1, 'slot', String(k));
  }
  return groups;
}

/** Cache location for the parameters. */
export function cacheDirFor(p: GenParams): string {
  const key = createHash('sha256').update(JSON.stringify({ v: GEN_VERSION, ...p })).digest('hex').slice(0, 16);
  return join(tmpdir(), `mm-dump-bench-${key}`);
}

/** Generates (or reuses) the blocks for `p`. Logs progress with `log`. */
export async function ensureBlocks(p: GenParams, log: (s: string) => void = () => {}): Promise<GenResult> {
  const cacheDir = cacheDirFor(p);
  const storeRoot = join(cacheDir, 'store');
  const marker = join(cacheDir, 'complete.json');
  if (existsSync(marker)) return { ...(JSON.parse(readFileSync(marker, 'utf8')) as GenResult), genSeconds: 0 };
  rmSync(cacheDir, { recursive: true, force: true });
  const dataDir = join(storeRoot, DATA_ROOT);
  mkdirSync(dataDir, { recursive: true });
  const t0 = performance.now();
  const nBlocks = Math.round((p.days * 24 * 3_600_000) / BLOCK_MS);
  const perBlock = BLOCK_MS / p.intervalMs;
  const scrapes = nBlocks * perBlock;
  const groups = buildGroups(p.series, p.seed, scrapes);
  const nSeries = groups.reduce((a, g) => a + g.labels.length, 0);
  const instances = 1 + groups.reduce((a, g) => Math.max(a, g.inst), 0);
  // Per-instance scrape offset inside the interval, and rare ms jitter (Prometheus snaps
  // timestamps within 2 ms to the interval, so most are exact).
  const offsets = Array.from({ length: instances }, (_, i) => (i * 7_123 + 311) % p.intervalMs);
  const jitter = new Rng(p.seed ^ 0x717);
  const ts = Array.from({ length: instances }, () => new Float64Array(perBlock));
  const cutters = Array.from({ length: nSeries }, () => new ChunkCutter(BLOCK_MS));
  const blocks: GenResult['blocks'] = [];
  let samples = 0;
  let bytes = 0;
  for (let b = 0; b < nBlocks; b++) {
    const mint = p.startMs + b * BLOCK_MS;
    for (let i = 0; i < instances; i++) {
      const arr = ts[i] as Float64Array;
      for (let k = 0; k < perBlock; k++) {
        const x = jitter.next();
        arr[k] = mint + k * p.intervalMs + (offsets[i] as number) + (x < 0.01 ? Math.floor(x * 500) - 2 : 0);
      }
    }
    const series: BlockSeries[] = [];
    let si = 0;
    for (const g of groups) {
      const n = g.labels.length;
      const lo = Math.max(0, g.from - b * perBlock);
      const hi = Math.min(perBlock, g.to - b * perBlock);
      if (hi <= lo) {
        // Absent in this block; values still advance so the group is deterministic per scrape.
        for (let k = 0; k < perBlock; k++) g.step();
        for (let j = 0; j < n; j++) (cutters[si + j] as ChunkCutter).reset();
        si += n;
        continue;
      }
      const chunks: ChunkMeta[][] = Array.from({ length: n }, () => []);
      const apps: Array<XORAppender | null> = new Array<XORAppender | null>(n).fill(null);
      const times = ts[g.inst] as Float64Array;
      for (let k = 0; k < perBlock; k++) {
        g.step();
        if (k < lo || k >= hi) continue;
        const t = times[k] as number;
        for (let j = 0; j < n; j++) {
          const c = cutters[si + j] as ChunkCutter;
          // A block boundary always starts a chunk (the head's 2 h chunk range ends there too).
          const cut = c.add(t) || apps[j] === null;
          const cs = chunks[j] as ChunkMeta[];
          if (cut) {
            const chunk = new XORChunk();
            apps[j] = chunk.appender();
            cs.push({ ref: 0, minTime: t, maxTime: t, chunk });
          }
          (apps[j] as XORAppender).append(t, g.v[j] as number);
          (cs[cs.length - 1] as ChunkMeta).maxTime = t;
        }
      }
      for (let j = 0; j < n; j++) {
        series.push({ labels: g.labels[j] as Labels, chunks: chunks[j] as ChunkMeta[] });
        samples += hi - lo;
      }
      si += n;
    }
    const meta = await writeBlock(dataDir, { mint, maxt: mint + BLOCK_MS, series });
    if (meta === null) continue;
    const size = blockBytes(join(dataDir, meta.ulid));
    bytes += size;
    blocks.push({ ulid: meta.ulid, minTime: meta.minTime, maxTime: meta.maxTime, bytes: size });
    if ((b + 1) % 12 === 0 || b === nBlocks - 1) log(`generated ${b + 1}/${nBlocks} blocks (${(bytes / 1e6).toFixed(0)} MB, ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const res: GenResult = { cacheDir, storeRoot, blocks, series: nSeries, samples, bytes, genSeconds: (performance.now() - t0) / 1000 };
  writeFileSync(marker, JSON.stringify(res));
  return res;
}

function blockBytes(dir: string): number {
  let n = 0;
  for (const f of ['meta.json', 'index', 'tombstones']) if (existsSync(join(dir, f))) n += statSize(join(dir, f));
  for (let i = 1; existsSync(join(dir, 'chunks', String(i).padStart(6, '0'))); i++) n += statSize(join(dir, 'chunks', String(i).padStart(6, '0')));
  return n;
}

function statSize(p: string): number {
  return statSync(p).size;
}
