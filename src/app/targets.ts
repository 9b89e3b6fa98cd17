/**
 * What the scraper scrapes, from settings and (in a cluster) ClusterDiscovery:
 *
 *   mm-metrics itself        job "mm-metrics", its own /metrics
 *   each Mattermost node     job "prometheus", <host>:<metrics port>/metrics
 *   node exporter per node   job "node",       <host>:9100/metrics        (if enabled)
 *   Calls per node           job "calls",      <host>:<metrics port>/plugins/com.mattermost.calls/metrics (if enabled)
 *   RTCD (each resolved IP)  job "calls",      <ip>:<port>/metrics, plus job "node" <ip>:9100
 *   extra static targets     job from the entry (default "static")
 *
 * Job names and `instance` = address follow the plugin (FACTS §4 "Scrape setup"), so the
 * Mattermost Grafana dashboards work on a dump unchanged.
 */
import { lookup } from 'node:dns/promises';
import { buildTargets, joinHostPort, staticNode, type ClusterNode, type TargetDescriptor } from '../cluster/targets.js';
import { newTarget, targetFromURL, type ScrapeConfig, type Target } from '../scrape/index.js';

export interface TargetSettings {
  /** The scrape config every target starts from (interval, timeout, limits, honor_*). */
  base: ScrapeConfig;
  /** Own metrics URL, or null not to scrape ourselves. */
  selfUrl: string | null;
  /** Host of the single local Mattermost node (from MetricsSettings.ListenAddress, "localhost" when empty). */
  localHost: string;
  metricsPort: number;
  /** Scrape the Mattermost metrics listener(s) (job "prometheus"). */
  mattermostEnabled: boolean;
  /** Path of the Mattermost metrics endpoint ("/metrics"). */
  mattermostPath: string;
  /** Scheme of Mattermost/Calls targets (listeners may serve TLS). */
  scheme: 'http' | 'https';
  nodeExporter: { enabled: boolean; port: number };
  calls: { enabled: boolean; path: string; rtcdUrl: string };
  /** Extra static targets: full URLs, each with a job name and extra target labels. */
  extra: Array<{ url: string; job: string; labels?: Record<string, string> }>;
}

export interface TargetProblem {
  what: string;
  error: string;
}

function fromDescriptor(base: ScrapeConfig, d: TargetDescriptor): Target {
  return newTarget({ ...base, jobName: d.job, scheme: d.scheme as 'http' | 'https', metricsPath: d.metricsPath, params: {} }, { __address__: d.address, instance: d.labels.instance });
}

/**
 * Builds the target list. `nodes` are ClusterDiscovery's live app nodes in a cluster, or
 * null on a single node. Bad entries are reported in `problems` and skipped, never fatal.
 */
export async function buildScrapeTargets(s: TargetSettings, nodes: readonly ClusterNode[] | null): Promise<{ targets: Target[]; problems: TargetProblem[] }> {
  const targets: Target[] = [];
  const problems: TargetProblem[] = [];
  const add = (what: string, f: () => Target): void => {
    try {
      targets.push(f());
    } catch (e) {
      problems.push({ what, error: (e as Error).message });
    }
  };
  if (s.selfUrl) {
    const url = s.selfUrl;
    add(`self ${url}`, () => targetFromURL({ ...s.base, jobName: 'mm-metrics' }, url));
  }
  let ns: readonly ClusterNode[] = [];
  if (nodes && nodes.length > 0) ns = nodes;
  else {
    try {
      ns = [staticNode(s.localHost || 'localhost')];
    } catch (e) {
      problems.push({ what: `local node ${s.localHost}`, error: (e as Error).message });
    }
  }
  const descs = buildTargets(ns, {
    metricsPort: s.metricsPort,
    metricsPath: s.mattermostPath,
    nodeExporter: s.nodeExporter,
    calls: { enabled: s.calls.enabled, path: s.calls.path },
  });
  for (const d of descs) {
    if (d.job === 'prometheus' && !s.mattermostEnabled) continue;
    const scheme = d.job === 'node' ? 'http' : s.scheme;
    add(`${d.job} ${d.address}`, () => fromDescriptor(s.base, { ...d, scheme } as TargetDescriptor));
  }

  if (s.calls.enabled && s.calls.rtcdUrl) {
    try {
      const u = new URL(s.calls.rtcdUrl);
      if (!u.port) throw new Error('the RTCD URL needs an explicit port');
      const ips = await lookup(u.hostname, { all: true, family: 4 });
      for (const { address } of ips) {
        const rtcd = joinHostPort(address, Number(u.port));
        add(`rtcd ${rtcd}`, () => newTarget({ ...s.base, jobName: 'calls', scheme: 'http', metricsPath: '/metrics', params: {} }, { __address__: rtcd }));
        if (s.nodeExporter.enabled) {
          const ne = joinHostPort(address, s.nodeExporter.port);
          add(`rtcd node ${ne}`, () => newTarget({ ...s.base, jobName: 'node', scheme: 'http', metricsPath: '/metrics', params: {} }, { __address__: ne }));
        }
      }
    } catch (e) {
      problems.push({ what: `rtcd ${s.calls.rtcdUrl}`, error: (e as Error).message });
    }
  }
  for (const e of s.extra) add(`static ${e.url}`, () => targetFromURL({ ...s.base, jobName: e.job }, e.url, e.labels ?? {}));
  return { targets, problems };
}
