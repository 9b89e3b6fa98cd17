/**
 * From discovered Mattermost nodes to scrape-target descriptors, as plain data: the cluster
 * layer does not import src/scrape; the app maps these onto its scrape configuration.
 *
 * What the Mattermost metrics plugin scrapes per app node (../shared/mattermost/FACTS.md §4):
 *
 *   job prometheus  http://<host>:<metrics port>/metrics
 *   job node        http://<host>:<node exporter port>/metrics          (if enabled)
 *   job calls       http://<host>:<metrics port>/plugins/com.mattermost.calls/metrics  (if Calls runs)
 *
 * `instance` is always the address (host:port), so the Calls target shares its instance with
 * the node's own metrics and the two are told apart by `job`. Unlike the plugin we never
 * emit the 2N empty targets of its pre-sized slice (FACTS §9.3).
 */
import { isIP } from 'node:net';

/** One live row of ClusterDiscovery (type mattermost_app), after validation. */
export interface ClusterNode {
  /** ClusterDiscovery.Id: a fresh 26-char id per server start. */
  id: string;
  /** Validated host: DNS name, IPv4 or IPv6 (without brackets). */
  hostname: string;
  clusterName: string;
  gossipPort: number;
  /** ClusterDiscovery.Port: the node's API port (not its metrics port). */
  port: number;
  createAt: number;
  lastPingAt: number;
}

export type TargetJob = 'prometheus' | 'node' | 'calls';

export interface TargetDescriptor {
  job: TargetJob;
  /** host:port with IPv6 hosts in brackets; also the `instance` label. */
  address: string;
  scheme: 'http';
  /** URL path to scrape, e.g. `/metrics`. */
  metricsPath: string;
  /** Target labels: `job` and `instance` (the address). */
  labels: { job: TargetJob; instance: string };
  /** The node this target belongs to (ClusterDiscovery.Id), '' for a static node. */
  nodeId: string;
  /** The node's hostname as discovered. */
  hostname: string;
}

export interface TargetOptions {
  /** Port of every node's metrics listener (MetricsSettings.ListenAddress, default :8067). */
  metricsPort: number;
  metricsPath: string;
  /** node_exporter on every node (plugin setting EnableNodeExporterTargets/NodeExporterPort). */
  nodeExporter: { enabled: boolean; port: number };
  /** Calls plugin metrics through each node's metrics listener (when Calls is running). */
  calls: { enabled: boolean; path: string };
}

export function defaultTargetOptions(): TargetOptions {
  return {
    metricsPort: 8067,
    metricsPath: '/metrics',
    nodeExporter: { enabled: true, port: 9100 },
    calls: { enabled: false, path: '/plugins/com.mattermost.calls/metrics' },
  };
}

/**
 * Targets for `nodes`, in node order, each node's targets in job order prometheus, node,
 * calls. Nodes sharing a hostname produce their targets once.
 */
export function buildTargets(nodes: readonly ClusterNode[], opts: TargetOptions = defaultTargetOptions()): TargetDescriptor[] {
  const out: TargetDescriptor[] = [];
  const seen = new Set<string>();
  for (const n of nodes) {
    if (seen.has(n.hostname)) continue;
    seen.add(n.hostname);
    out.push(target('prometheus', n, opts.metricsPort, opts.metricsPath));
    if (opts.nodeExporter.enabled) out.push(target('node', n, opts.nodeExporter.port, '/metrics'));
    if (opts.calls.enabled) out.push(target('calls', n, opts.metricsPort, opts.calls.path));
  }
  return out;
}

/**
 * A node for the single-server case (no ClusterDiscovery rows, or HA off): the plugin scrapes
 * `<ListenAddress host or "localhost">:<port>`.
 */
export function staticNode(hostname: string): ClusterNode {
  const checked = checkHostname(hostname);
  if (!checked.ok) throw new TypeError(`static node hostname: ${checked.reason}`);
  return { id: '', hostname: checked.host, clusterName: '', gossipPort: 0, port: 0, createAt: 0, lastPingAt: 0 };
}

function target(job: TargetJob, n: ClusterNode, port: number, path: string): TargetDescriptor {
  const address = joinHostPort(n.hostname, port);
  return { job, address, scheme: 'http', metricsPath: path, labels: { job, instance: address }, nodeId: n.id, hostname: n.hostname };
}

/** Go net.JoinHostPort: brackets around IPv6. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export type HostnameCheck = { ok: true; host: string } | { ok: false; reason: string };

// RFC 1123 label; '_' tolerated because container and cloud host names use it.
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i;

/**
 * Validates a ClusterDiscovery.Hostname before it becomes part of a URL. Accepts an IPv4 or
 * IPv6 address (IPv6 optionally in brackets) or a DNS name; rejects everything that could
 * change the URL's meaning (scheme, userinfo, path, port, spaces, control characters).
 */
export function checkHostname(raw: string): HostnameCheck {
  const h = raw.trim();
  if (h.length === 0) return { ok: false, reason: 'empty' };
  if (h.length > 253) return { ok: false, reason: `too long (${h.length} characters, at most 253)` };
  let bare = h;
  if (h.startsWith('[') && h.endsWith(']')) bare = h.slice(1, -1);
  if (isIP(bare) === 6) return { ok: true, host: bare };
  if (isIP(bare) === 4) return { ok: true, host: bare };
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\s\x00-\x1f\x7f]/.test(h)) return { ok: false, reason: 'contains whitespace or control characters' };
  if (h.includes('://')) return { ok: false, reason: 'looks like a URL, want a bare host' };
  if (/[/?#@]/.test(h)) return { ok: false, reason: 'contains URL syntax (/ ? # @)' };
  if (h.includes(':')) return { ok: false, reason: 'contains ":" (a port, or a malformed IPv6 address)' };
  const name = h.endsWith('.') ? h.slice(0, -1) : h;
  if (/^[\d.]+$/.test(name)) return { ok: false, reason: 'malformed IPv4 address' };
  for (const label of name.split('.')) {
    if (!LABEL.test(label)) return { ok: false, reason: 'not a valid DNS name (labels of letters, digits and inner hyphens, 1–63 characters)' };
  }
  return { ok: true, host: name };
}
