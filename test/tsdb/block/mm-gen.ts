/**
 * Deterministic generator of Mattermost-like OpenMetrics input with timestamps, for
 * promtool side-by-side tests and benchmarks: families and label shapes from
 * ../shared/mattermost/metrics-catalog.json (api_time and db_store_time histograms,
 * cache/websocket/cluster counters, per-hub gauges, process and Go runtime metrics),
 * scraped every `intervalSec` from several instances, with churn (series appearing and
 * disappearing), scrape jitter, counter resets, and special values (NaN, ±Inf, huge and
 * tiny numbers, long and unicode label values).
 *
 * Output is grouped by family then series (all samples of a series together), as
 * promtool's OpenMetrics importer expects, and ends with `# EOF`.
 */

/** mulberry32: small, fast, seedable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenOptions {
  seed: number;
  /** First scrape, unix seconds (deliberately not aligned to 2h). */
  startSec: number;
  durationSec: number;
  intervalSec: number;
  instances: number;
  /** Number of API handlers (each gives ~14 × 1–3 histogram series per instance). */
  handlers: number;
}

export function defaultGenOptions(): GenOptions {
  return { seed: 42, startSec: 1_700_001_234, durationSec: 4 * 3600 + 600, intervalSec: 60, instances: 2, handlers: 24 };
}

const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];
const HANDLERS = [
  'getPostsForChannel', 'createPost', 'getUser', 'getChannel', 'updateUserStatus', 'getTeamMembers', 'viewChannel', 'getChannelMembers',
  'searchPosts', 'getFileInfo', 'uploadFileStream', 'getPreferences', 'patchPost', 'deletePost', 'getThreadsForUser', 'getEmojiList',
  'login', 'logout', 'getClientConfig', 'getLicense', 'getPluginStatuses', 'executeCommand', 'getUsersByIds', 'getChannelsForTeamForUser',
  'getPostThread', 'saveReaction', 'getFlaggedPosts', 'autocompleteUsers', 'getTeam', 'getRecentMentions',
];
const STORE = ['PostStore.GetPostsSince', 'ChannelStore.Get', 'UserStore.Get', 'SessionStore.Get', 'PostStore.Save', 'ChannelStore.GetMember', 'TeamStore.GetMember', 'StatusStore.Get', 'PreferenceStore.GetAll', 'FileInfoStore.Get', 'ThreadStore.GetThreadsForUser', 'ReactionStore.Save'];
const CACHES = ['Session', 'Profile', 'Channel', 'ChannelMembers', 'Post', 'Status', 'Team', 'Webhook', 'Emoji', 'Reaction', 'FileInfo', 'Role'];
const WS = ['posted', 'typing', 'status_change', 'channel_viewed', 'reaction_added', 'post_edited', 'user_updated', 'new_user', 'hello', 'thread_updated'];
const CLUSTER = ['publish', 'inv_channel', 'update_status', 'inv_user', 'inv_team', 'other'];

interface Series {
  family: string;
  labels: Array<[string, string]>;
  /** counter: integer increments; sum: float increments (latency sums); gauge: random walk. */
  kind: 'counter' | 'sum' | 'gauge' | 'special';
  /** Gauges: whole numbers (bytes, goroutines, buffer sizes) or two-decimal floats. */
  integer?: boolean;
  start: number; // first scrape index
  end: number; // last scrape index (exclusive)
  base: number;
  rate: number;
  special?: number[];
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmtNum(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Generates the OpenMetrics text. Returns the text and the number of series and samples. */
export function generateOpenMetrics(o: GenOptions = defaultGenOptions()): { text: string; series: number; samples: number } {
  const r = rng(o.seed);
  const n = Math.floor(o.durationSec / o.intervalSec);
  const fams = new Map<string, { type: string; help: string; series: Series[] }>();
  const fam = (name: string, type: string, help: string) => {
    let f = fams.get(name);
    if (!f) fams.set(name, (f = { type, help, series: [] }));
    return f;
  };
  const churn = (): [number, number] => {
    const x = r();
    if (x < 0.08) return [Math.floor(r() * n * 0.7), n]; // appears late
    if (x < 0.14) return [0, Math.max(1, Math.floor(n * (0.2 + 0.6 * r())))]; // goes away
    return [0, n];
  };
  for (let inst = 0; inst < o.instances; inst++) {
    const base: Array<[string, string]> = [
      ['instance', `mm-app-${inst + 1}:8067`],
      ['job', 'prometheus'],
    ];
    const hist = (family: string, extra: Array<[string, string]>, scale: number) => {
      const [s, e] = churn();
      const f = fam(family, 'histogram', `Time to execute ${family.replace('mattermost_', '')} in seconds.`);
      const rate = scale * (0.2 + r() * 5);
      let frac = 0.2 + r() * 0.5;
      for (const le of BUCKETS) {
        frac = Math.min(1, frac + r() * 0.15);
        f.series.push({ family: family + '_bucket', labels: [...base, ...extra, ['le', le]], kind: 'counter', start: s, end: e, base: 0, rate: le === '+Inf' ? rate : rate * frac });
      }
      f.series.push({ family: family + '_sum', labels: [...base, ...extra], kind: 'sum', start: s, end: e, base: 0, rate: rate * 0.0731 });
      f.series.push({ family: family + '_count', labels: [...base, ...extra], kind: 'counter', start: s, end: e, base: 0, rate });
    };
    for (let h = 0; h < o.handlers; h++) {
      const handler = HANDLERS[h % HANDLERS.length] + (h >= HANDLERS.length ? `V${Math.floor(h / HANDLERS.length)}` : '');
      const method = h % 5 === 1 ? 'POST' : 'GET';
      const codes = h % 3 === 0 ? ['200', '304'] : h % 7 === 0 ? ['200', '403', '500'] : ['200'];
      for (const code of codes) {
        for (const client of ['web', 'desktop']) {
          hist('mattermost_api_time', [['handler', handler], ['method', method], ['origin_client', client], ['page_load_context', h % 4 === 0 ? 'page_load' : ''], ['status_code', code]], code === '200' ? 1 : 0.05);
        }
      }
    }
    for (const m of STORE) hist('mattermost_db_store_time', [['method', m], ['success', 'true']], 3);
    const counter = (family: string, help: string, extra: Array<[string, string]>, rate: number) => {
      const [s, e] = churn();
      fam(family, 'counter', help).series.push({ family: family + '_total', labels: [...base, ...extra], kind: 'counter', start: s, end: e, base: Math.floor(r() * 1e6), rate });
    };
    for (const c of CACHES) {
      counter('mattermost_cache_mem_hit', 'Cache hits.', [['name', c]], 50 * r());
      counter('mattermost_cache_mem_miss', 'Cache misses.', [['name', c]], 5 * r());
    }
    for (const w of WS) counter('mattermost_websocket_broadcasts', 'Websocket broadcasts.', [['name', w]], 20 * r());
    for (const c of CLUSTER) counter('mattermost_cluster_cluster_event_type', 'Cluster events.', [['name', c]], r());
    counter('mattermost_post', 'Posts created.', [], 3);
    for (let hub = 0; hub < 8; hub++) {
      fam('mattermost_websocket_broadcast_buffer_size', 'gauge', 'Broadcast buffer size per hub.').series.push({
        family: 'mattermost_websocket_broadcast_buffer_size',
        labels: [...base, ['hub', String(hub)]],
        kind: 'gauge',
        start: 0,
        end: n,
        base: Math.floor(10 * r()),
        rate: 5,
        integer: true,
      });
    }
    for (const [g, b] of [
      ['process_resident_memory_bytes', 3.2e8],
      ['process_open_fds', 120],
      ['go_goroutines', 850],
      ['go_memstats_heap_alloc_bytes', 1.5e8],
      ['mattermost_http_websockets', 40],
      ['mattermost_db_master_connections_total', 20],
    ] as Array<[string, number]>) {
      fam(g, 'gauge', `${g} gauge.`).series.push({ family: g, labels: [...base], kind: 'gauge', start: 0, end: n, base: b, rate: b * 0.01, integer: true });
    }
    fam('mattermost_db_replica_lag_time', 'gauge', 'Replica lag in seconds.').series.push({
      family: 'mattermost_db_replica_lag_time',
      labels: [...base, ['node', 'replica-1']],
      kind: 'gauge',
      start: 0,
      end: n,
      base: 0.5,
      rate: 0.2,
      integer: false,
    });
  }
  // Special values and awkward labels (one instance).
  const sp = fam('mm_test_special', 'gauge', 'Special values.');
  const special = (labels: Array<[string, string]>, vals: number[]) => sp.series.push({ family: 'mm_test_special', labels, kind: 'special', start: 0, end: n, base: 0, rate: 0, special: vals });
  special([['case', 'nan']], [NaN, 1, NaN, NaN, 2]);
  special([['case', 'inf']], [Infinity, -Infinity, 0, -0, Infinity]);
  special([['case', 'extremes']], [Number.MAX_VALUE, Number.MIN_VALUE, -1e308, 1e-300, 5e-324, 2 ** 53, -(2 ** 53)]);
  special([['case', 'long'], ['value', 'x'.repeat(5000) + '-long-label-value']], [1, 2, 3]);
  special([['case', 'unicode'], ['value', 'héllo wörld ✓ 日本語']], [1, 1, 1, 2]);
  special([['case', 'astral'], ['value', 'emoji 😀 \u{1F680}']], [3.5, 3.25]);
  special([['case', 'bmp-high'], ['value', 'private \uE000 \uFFFD end']], [7]);
  special([['case', 'escapes'], ['value', 'quote " backslash \\ newline \n end']], [9]);
  special([['case', 'constant']], [42]);

  const lines: string[] = [];
  let samples = 0;
  let seriesCount = 0;
  for (const [name, f] of fams) {
    lines.push(`# HELP ${name} ${f.help}`);
    lines.push(`# TYPE ${name} ${f.type}`);
    const sorted = f.series; // family order as generated (series of one family together)
    for (const s of sorted) {
      seriesCount++;
      const inst = s.labels.find(([k]) => k === 'instance')?.[1] ?? '';
      const instIdx = Number(/mm-app-(\d+)/.exec(inst)?.[1] ?? 0);
      const lbl = '{' + s.labels.filter(([, v]) => v !== '').map(([k, v]) => `${k}="${esc(v)}"`).join(',') + '}';
      const series = lbl === '{}' ? s.family : s.family + lbl;
      let v = s.base;
      const vr = rng((o.seed * 31 + seriesCount) >>> 0);
      for (let k = s.start; k < s.end; k++) {
        // Scrape time: per-instance offset, occasional jitter of a whole second or a quarter second.
        const j = vr();
        const jitter = j < 0.05 ? 1 : j < 0.08 ? -1 : j < 0.1 ? 0.25 : 0;
        const ts = o.startSec + k * o.intervalSec + instIdx * 7 + jitter;
        let val: number;
        if (s.kind === 'special') val = s.special![k % s.special!.length]!;
        else if (s.kind === 'counter') {
          if (vr() < 0.002) v = 0; // counter reset (restart)
          v += Math.floor(s.rate * (0.5 + vr()));
          val = v;
        } else if (s.kind === 'sum') {
          if (vr() < 0.002) v = 0;
          v += s.rate * (0.5 + vr());
          val = v;
        } else if (s.integer) {
          v = Math.max(0, Math.round(v + (vr() - 0.5) * s.rate));
          val = v;
        } else {
          v = Math.max(0, v + (vr() - 0.5) * s.rate);
          val = Math.round(v * 100) / 100;
        }
        lines.push(`${series} ${fmtNum(val)} ${ts}`);
        samples++;
      }
    }
  }
  lines.push('# EOF');
  return { text: lines.join('\n') + '\n', series: seriesCount, samples };
}
