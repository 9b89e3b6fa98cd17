/**
 * The pieces of the high-availability suite, all real:
 *
 *   HaDatabase   a private PostgreSQL cluster or MariaDB server in a temp dir (restartable
 *                without disturbing the shared servers), with a password-checked user.
 *   TcpProxy     one per mm-metrics process between it and the database: cut() silences the
 *                link (a network partition: no FIN, no RST), restore() ends it.
 *   FakeNode     a fake Mattermost node on its own loopback address (127.0.0.N), serving the
 *                metrics listener (node metrics + Calls) and a node exporter on the ports every
 *                node shares, logging each request with the scraper's User-Agent.
 *   MmProc       `node bin/mm-metrics.js run --config <yaml>` as a child process; its stdout
 *                and stderr are kept whole (secret checks) and its JSON log is parsed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openDb, type Db } from '../../src/cluster/db.js';
import type { DriverName } from '../../src/cluster/dsn.js';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin/mm-metrics.js');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, fn: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs: number, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(stepMs);
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

// ─── databases ───────────────────────────────────────────────────────────────

export interface HaDatabase {
  driver: DriverName;
  port: number;
  /** The application user's password (checked by the server). */
  password: string;
  user: string;
  database: string;
  /** DSN in Mattermost's SqlSettings.DataSource form for the app user via host:port. */
  dsn(port: number, password?: string, database?: string): string;
  /** A pooled handle as the app user, straight to the server (for the test's own SQL). */
  open(): Db;
  /** Crash the server (immediate stop / SIGKILL) and start it again on the same port and data. */
  crashRestart(): Promise<void>;
  /** Another (empty) database the app user may use. */
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

async function waitUp(driver: DriverName, dsn: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const db = openDb(driver, dsn, { poolSize: 1, connectTimeoutMs: 1000 });
    try {
      await db.ping();
      return;
    } catch (e) {
      if (Date.now() > end) throw e;
    } finally {
      await db.close();
    }
    await sleep(100);
  }
}

/** Private servers need root (runuser / --user=mysql) and the server binaries. */
export function privatePostgresAvailable(): boolean {
  return existsSync(`${PG_BIN}/initdb`) && existsSync('/usr/sbin/runuser') && process.getuid?.() === 0;
}

export function privateMariaDBAvailable(): boolean {
  return existsSync('/usr/sbin/mariadbd') && existsSync('/usr/bin/mariadb-install-db') && process.getuid?.() === 0;
}

const pgDsn = (user: string, password: string, port: number, database: string): string =>
  `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}?sslmode=disable&connect_timeout=3`;
const myDsn = (user: string, password: string, port: number, database: string): string =>
  `${user}:${password}@tcp(127.0.0.1:${port})/${database}?charset=utf8mb4,utf8&timeout=3s`;

/** A private PostgreSQL 15 cluster; TCP logins other than the superuser need a password (scram). */
export async function startHaPostgres(): Promise<HaDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'mm-ha-pg-'));
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  await chown(dir, uid, gid);
  const data = join(dir, 'data');
  await run('runuser', ['-u', 'postgres', '--', `${PG_BIN}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  await writeFile(join(data, 'pg_hba.conf'), 'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n');
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const ctl = (...args: string[]) => run('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', data, '-l', join(dir, 'log'), ...args]);
  await ctl('-o', opts, '-w', 'start');
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable&connect_timeout=3`;
  await waitUp('postgres', admin, 15_000);
  const user = 'mmha';
  const password = `S3cr3t-${randomBytes(6).toString('hex')}`;
  const database = 'mattermost_ha';
  const a = openDb('postgres', admin, { poolSize: 1 });
  try {
    await a.exec(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
    await a.exec(`CREATE DATABASE ${database} OWNER ${user}`);
  } finally {
    await a.close();
  }
  const handles: Db[] = [];
  return {
    driver: 'postgres',
    port,
    password,
    user,
    database,
    dsn: (p, pw = password, db = database) => pgDsn(user, pw, p, db),
    open() {
      const d = openDb('postgres', pgDsn(user, password, port, database), { poolSize: 2 });
      handles.push(d);
      return d;
    },
    async createDatabase(name: string) {
      const a = openDb('postgres', admin, { poolSize: 1 });
      try {
        await a.exec(`CREATE DATABASE ${name} OWNER ${user}`);
      } finally {
        await a.close();
      }
    },
    async crashRestart() {
      await ctl('-m', 'immediate', '-w', 'stop');
      await ctl('-o', opts, '-w', 'start');
      await waitUp('postgres', admin, 15_000);
    },
    async stop() {
      for (const h of handles) await h.close().catch(() => {});
      await ctl('-m', 'immediate', '-w', 'stop').catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A private MariaDB server; the app user has a password. */
export async function startHaMariaDB(): Promise<HaDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'mm-ha-my-'));
  const uid = Number((await run('id', ['-u', 'mysql'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'mysql'])).stdout.trim());
  await chown(dir, uid, gid);
  const data = join(dir, 'data');
  await run('mariadb-install-db', [`--datadir=${data}`, '--user=mysql', '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve']);
  const port = await freePort();
  let child: ChildProcess | null = null;
  const admin = `root@tcp(127.0.0.1:${port})/mysql?timeout=1s`;
  const start = async () => {
    child = spawn(
      '/usr/sbin/mariadbd',
      [
        '--no-defaults',
        `--datadir=${data}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(dir, 'sock')}`,
        `--pid-file=${join(dir, 'pid')}`,
        '--user=mysql',
        '--innodb-flush-log-at-trx-commit=2',
        '--skip-log-bin',
        '--skip-name-resolve',
        '--max-connections=200',
      ],
      { stdio: 'ignore' },
    );
    await waitUp('mysql', admin, 20_000);
  };
  const kill = async () => {
    const c = child as ChildProcess | null;
    if (c === null || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  const user = 'mmha';
  const password = `S3cr3t-${randomBytes(6).toString('hex')}`;
  const database = 'mattermost_ha';
  const a = openDb('mysql', admin, { poolSize: 1 });
  try {
    await a.exec(`CREATE DATABASE ${database}`);
    await a.exec(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    await a.exec(`GRANT ALL ON ${database}.* TO '${user}'@'%'`);
  } finally {
    await a.close();
  }
  const handles: Db[] = [];
  return {
    driver: 'mysql',
    port,
    password,
    user,
    database,
    dsn: (p, pw = password, db = database) => myDsn(user, pw, p, db),
    open() {
      const d = openDb('mysql', myDsn(user, password, port, database), { poolSize: 2 });
      handles.push(d);
      return d;
    },
    async createDatabase(name: string) {
      const a = openDb('mysql', admin, { poolSize: 1 });
      try {
        await a.exec(`CREATE DATABASE ${name}`);
        await a.exec(`GRANT ALL ON ${name}.* TO '${user}'@'%'`);
      } finally {
        await a.close();
      }
    },
    async crashRestart() {
      await kill();
      await start();
    },
    async stop() {
      for (const h of handles) await h.close().catch(() => {});
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Mattermost's ClusterDiscovery table as its migration 000003 creates it (FACTS §1). */
export async function createClusterDiscovery(db: Db): Promise<void> {
  if (db.driver === 'postgres') {
    await db.exec(`CREATE TABLE clusterdiscovery (id VARCHAR(26) PRIMARY KEY, type VARCHAR(64), clustername VARCHAR(64), hostname VARCHAR(512),
      gossipport integer, port integer, createat bigint, lastpingat bigint)`);
  } else {
    await db.exec(`CREATE TABLE ClusterDiscovery (Id varchar(26) NOT NULL, Type varchar(64) DEFAULT NULL, ClusterName varchar(64) DEFAULT NULL,
      Hostname text, GossipPort int(11) DEFAULT NULL, Port integer DEFAULT NULL, CreateAt bigint(20) DEFAULT NULL, LastPingAt bigint(20) DEFAULT NULL,
      PRIMARY KEY (Id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  }
}

export function newMmId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const b = randomBytes(26);
  let s = '';
  for (let i = 0; i < 26; i++) s += alphabet[b[i]! % 36];
  return s;
}

/** Inserts a node row as Mattermost's discovery service does (stale identical row removed first). */
export async function registerNode(db: Db, clusterName: string, hostname: string, lastPingAt = Date.now()): Promise<string> {
  const id = newMmId();
  await db.exec('DELETE FROM ClusterDiscovery WHERE Type = ? AND ClusterName = ? AND Hostname = ?', ['mattermost_app', clusterName, hostname]);
  await db.exec('INSERT INTO ClusterDiscovery (Id, Type, ClusterName, Hostname, GossipPort, Port, CreateAt, LastPingAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
    id,
    'mattermost_app',
    clusterName,
    hostname,
    8074,
    8065,
    lastPingAt,
    lastPingAt,
  ]);
  return id;
}

/** Sets LastPingAt of a node's row (aging it past 30 min makes it offline). */
export async function pingNode(db: Db, clusterName: string, hostname: string, lastPingAt: number): Promise<void> {
  await db.exec('UPDATE ClusterDiscovery SET LastPingAt = ? WHERE Type = ? AND ClusterName = ? AND Hostname = ?', [lastPingAt, 'mattermost_app', clusterName, hostname]);
}

// ─── a cuttable link to the database ─────────────────────────────────────────

/**
 * Forwards 127.0.0.1:<port> to the database. cut(): every byte in either direction is
 * dropped and new connections are accepted but never forwarded — to both ends the peer
 * just went silent, as in a network partition. restore(): the silenced connections are
 * reset and new ones flow again.
 */
export class TcpProxy {
  port = 0;
  private readonly server: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket | null]>();
  private silent = false;

  private constructor(private readonly targetPort: number) {
    this.server = net.createServer((client) => this.accept(client));
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const p = new TcpProxy(targetPort);
    await new Promise<void>((resolve, reject) => {
      p.server.once('error', reject);
      p.server.listen(0, '127.0.0.1', () => resolve());
    });
    p.port = (p.server.address() as net.AddressInfo).port;
    return p;
  }

  private accept(client: net.Socket): void {
    client.on('error', () => {});
    if (this.silent) {
      // Accepted (the SYN was answered by a middlebox, say) but never forwarded.
      const pair: [net.Socket, net.Socket | null] = [client, null];
      this.pairs.add(pair);
      client.on('close', () => this.pairs.delete(pair));
      client.on('data', () => {});
      return;
    }
    const up = net.connect(this.targetPort, '127.0.0.1');
    up.on('error', () => {});
    const pair: [net.Socket, net.Socket | null] = [client, up];
    this.pairs.add(pair);
    // While cut, a close on one side does not reach the other (the partition swallows it):
    // the database keeps the session until its own timeout ends it.
    let closed = 0;
    const onClose = (other: net.Socket) => () => {
      if (++closed === 2) this.pairs.delete(pair);
      if (!this.silent) other.destroy();
    };
    client.on('close', onClose(up));
    up.on('close', onClose(client));
    client.on('data', (d: Buffer) => {
      if (!this.silent && !up.destroyed) up.write(d);
    });
    up.on('data', (d: Buffer) => {
      if (!this.silent && !client.destroyed) client.write(d);
    });
  }

  /** Silences the link (both directions, existing and new connections). */
  cut(): void {
    this.silent = true;
  }

  /** Ends the partition: the silenced connections are reset (as a TCP timeout would), new ones flow. */
  restore(): void {
    this.silent = false;
    for (const [c, u] of [...this.pairs]) {
      c.resetAndDestroy();
      u?.resetAndDestroy();
    }
  }

  async close(): Promise<void> {
    for (const [c, u] of this.pairs) {
      c.destroy();
      u?.destroy();
    }
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

// ─── fake Mattermost nodes ───────────────────────────────────────────────────

export interface ScrapeRecord {
  /** ms, when the request arrived */
  t: number;
  /** node id from the User-Agent `mm-metrics/x (node <id>)`, or the whole UA */
  by: string;
  /** 'metrics' | 'calls' | 'node' */
  what: string;
}

/** Lists a node serves, with the listener ports every Mattermost node shares. */
export class FakeNode {
  readonly log: ScrapeRecord[] = [];
  private readonly servers: http.Server[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    readonly ip: string,
    readonly name: string,
  ) {}

  /** Listens on ip:metricsPort (metrics + Calls) and ip:nodePort (node exporter). */
  static async start(ip: string, name: string, metricsPort: number, nodePort: number): Promise<FakeNode> {
    const n = new FakeNode(ip, name);
    await n.listen(metricsPort, (path) => (path === '/metrics' ? 'metrics' : path === '/plugins/com.mattermost.calls/metrics' ? 'calls' : null));
    await n.listen(nodePort, (path) => (path === '/metrics' ? 'node' : null));
    return n;
  }

  private async listen(port: number, route: (path: string) => string | null): Promise<void> {
    const srv = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      const what = route(path);
      if (what === null) {
        res.writeHead(404).end();
        return;
      }
      const ua = String(req.headers['user-agent'] ?? '');
      const m = /\(node ([^)]+)\)/.exec(ua);
      const t = Date.now();
      this.log.push({ t, by: m ? m[1]! : ua, what });
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(this.body(what, t));
    });
    srv.keepAliveTimeout = 30_000;
    srv.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, this.ip, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    this.servers.push(srv);
  }

  private body(what: string, t: number): string {
    const n = this.name;
    if (what === 'metrics') {
      const lines = [
        '# HELP mattermost_http_requests_total The total number of http API requests.',
        '# TYPE mattermost_http_requests_total counter',
        `mattermost_http_requests_total{node="${n}"} ${Math.floor(t / 100)}`,
        '# HELP mattermost_db_master_connections_total The total number of connections to the master database.',
        '# TYPE mattermost_db_master_connections_total gauge',
        `mattermost_db_master_connections_total{node="${n}"} 10`,
        '# HELP mattermost_http_websockets_total The total number of websocket connections to this server.',
        '# TYPE mattermost_http_websockets_total gauge',
      ];
      for (let i = 0; i < 20; i++) lines.push(`mattermost_http_websockets_total{origin_client="c${i}",node="${n}"} ${i}`);
      return lines.join('\n') + '\n';
    }
    if (what === 'calls') {
      return `# TYPE mattermost_plugin_calls_websocket_connections gauge\nmattermost_plugin_calls_websocket_connections{node="${n}"} 3\n`;
    }
    return `# TYPE node_load1 gauge\nnode_load1 0.5\n# TYPE node_boot_time_seconds gauge\nnode_boot_time_seconds 1.7e9\n`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** Binds the same free port on every address (Mattermost nodes share their listener ports). */
export async function commonFreePort(ips: string[], avoid: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    if (avoid.includes(port)) continue;
    const held: net.Server[] = [];
    let ok = true;
    for (const ip of ips) {
      const s = net.createServer();
      const bound = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.listen(port, ip, () => resolve(true));
      });
      if (!bound) {
        ok = false;
        break;
      }
      held.push(s);
    }
    await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (ok) return port;
  }
  throw new Error('no common free port');
}

/**
 * Checks the combined scrape logs: per target (node × what), consecutive scrapes by
 * different mm-metrics nodes must be at least `minGapMs` apart (a handover), and the
 * number of distinct scrapers within any window of `windowMs` is returned (1 = never two
 * scrapers at once).
 */
export function scraperConcurrency(nodes: FakeNode[], windowMs: number): { maxConcurrent: number; switches: number; closestHandoverMs: number } {
  let maxConcurrent = 0;
  let switches = 0;
  let closest = Infinity;
  for (const n of nodes) {
    for (const what of ['metrics', 'calls', 'node']) {
      const recs = n.log.filter((r) => r.what === what).sort((a, b) => a.t - b.t);
      let lo = 0;
      for (let i = 0; i < recs.length; i++) {
        while (recs[i]!.t - recs[lo]!.t > windowMs) lo++;
        const distinct = new Set(recs.slice(lo, i + 1).map((r) => r.by)).size;
        maxConcurrent = Math.max(maxConcurrent, distinct);
        if (i > 0 && recs[i]!.by !== recs[i - 1]!.by) {
          switches++;
          closest = Math.min(closest, recs[i]!.t - recs[i - 1]!.t);
        }
      }
    }
  }
  return { maxConcurrent, switches, closestHandoverMs: closest };
}

// ─── mm-metrics processes ────────────────────────────────────────────────────

export interface LogLine {
  level: number;
  time: number;
  msg: string;
  [k: string]: unknown;
}

export class MmProc {
  child: ChildProcess | null = null;
  /** Everything written to stdout and stderr, across restarts. */
  output = '';
  lines: LogLine[] = [];
  url = '';
  origin = '';
  exitCode: number | null = null;
  private buf = '';
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly configPath: string,
    readonly token: string,
    readonly extraEnv: Record<string, string> = {},
  ) {}

  /** Spawns the process; resolves with the URL from `running: <url>`, or rejects when it exits first. */
  async start(timeoutMs = 60_000): Promise<string> {
    this.url = '';
    this.exitCode = null;
    const child = spawn(process.execPath, [BIN, 'run', '--config', this.configPath], {
      cwd: ROOT,
      env: { ...process.env, ...this.extraEnv, MM_METRICS_SHUTDOWN_TIMEOUT_MS: '20000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => this.onOut(d));
    child.stderr!.on('data', (d: string) => {
      this.output += d;
    });
    this.exited = new Promise((r) =>
      child.on('exit', (code, sig) => {
        this.exitCode = code ?? (sig ? 128 : -1);
        r();
      }),
    );
    const mark = this.output.length;
    let done = false;
    const died = this.exited.then(() => {
      if (!done) throw new Error(`${this.name} exited with ${this.exitCode} before it was ready:\n${this.output.slice(mark).slice(-3000)}`);
      return '';
    });
    died.catch(() => {});
    const ready = waitFor(
      `${this.name} to print its URL`,
      () => {
        const m = /running: (http:\/\/\S+)/.exec(this.output.slice(mark));
        if (!m) return null;
        this.url = m[1]!;
        this.origin = new URL(this.url).origin;
        return this.url;
      },
      timeoutMs,
      50,
    );
    try {
      return await Promise.race([ready, died]);
    } finally {
      done = true;
    }
  }

  /** Starts again with the same config and data dir. */
  restart(): Promise<string> {
    return this.start();
  }

  private onOut(d: string): void {
    this.output += d;
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      try {
        this.lines.push(JSON.parse(line) as LogLine);
      } catch {
        // not JSON: kept in output
      }
    }
  }

  get running(): boolean {
    return this.child !== null && this.exitCode === null;
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  /** kill -9; resolves when the process is gone. Returns the kill time. */
  async kill9(): Promise<number> {
    const at = Date.now();
    this.child?.kill('SIGKILL');
    await this.exited;
    return at;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGTERM');
    const t = setTimeout(() => this.child?.kill('SIGKILL'), 25_000);
    await this.exited;
    clearTimeout(t);
  }

  /** mm_metrics_scraper_leader from its own /metrics: 1, 0, or null when unreachable. */
  async leaderGauge(): Promise<number | null> {
    if (!this.running || !this.origin) return null;
    try {
      const r = await fetch(`${this.origin}/metrics`, { signal: AbortSignal.timeout(3000) });
      const m = /^mm_metrics_scraper_leader (\S+)$/m.exec(await r.text());
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  }

  async api(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(this.url + path.replace(/^\//, ''), {
      ...init,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
      signal: init.signal ?? AbortSignal.timeout(30_000),
    });
  }

  /** Log lines with this message (substring), in order. */
  events(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg.includes(msg));
  }
}
