/**
 * Real-database fixtures for the cluster tests: a throwaway database per test on the local
 * PostgreSQL (trust auth) and MariaDB (root, no password), dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { openDb, type Db } from '../../src/cluster/db.js';
import type { DriverName } from '../../src/cluster/dsn.js';

export interface DriverCase {
  driver: DriverName;
  /** DSN for a database name, in the form Mattermost's config.json uses. */
  dsnFor(database: string): string;
}

export const PG: DriverCase = {
  driver: 'postgres',
  dsnFor: (db) => `postgres://postgres@127.0.0.1:5432/${db}?sslmode=disable&connect_timeout=5`,
};

export const MY: DriverCase = {
  driver: 'mysql',
  dsnFor: (db) => `root@tcp(127.0.0.1:3306)/${db}?charset=utf8mb4,utf8&readTimeout=30s&writeTimeout=30s`,
};

/** Both drivers, for describe.each. The first element is the display name. */
export const DRIVERS: Array<[string, DriverCase]> = [
  ['PostgreSQL', PG],
  ['MariaDB', MY],
];

export interface TestDatabase {
  name: string;
  dsn: string;
  /** A pooled handle on the test database (closed by drop()). */
  db: Db;
  /** Opens another handle (another pool), e.g. to simulate another node. Closed by drop(). */
  open(): Db;
  drop(): Promise<void>;
}

export function randomName(prefix = 'mmt'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Creates a fresh database named mmt_<random> and returns handles on it. */
export async function createTestDatabase(c: DriverCase): Promise<TestDatabase> {
  const name = randomName();
  const admin = openDb(c.driver, c.dsnFor('test'), { poolSize: 1 });
  try {
    await admin.exec(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  const dsn = c.dsnFor(name);
  const handles: Db[] = [];
  const open = (): Db => {
    const d = openDb(c.driver, dsn, { poolSize: 4 });
    handles.push(d);
    return d;
  };
  const db = open();
  return {
    name,
    dsn,
    db,
    open,
    async drop() {
      for (const h of handles) await h.close();
      const a = openDb(c.driver, c.dsnFor('test'), { poolSize: 1 });
      try {
        if (c.driver === 'postgres') await a.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        else await a.exec(`DROP DATABASE IF EXISTS ${name}`);
      } finally {
        await a.close();
      }
    },
  };
}

/** Mattermost's ClusterDiscovery table exactly as its migration 000003 creates it. */
export async function createClusterDiscoveryTable(db: Db): Promise<void> {
  if (db.driver === 'postgres') {
    await db.exec(`CREATE TABLE IF NOT EXISTS clusterdiscovery (
      id VARCHAR(26) PRIMARY KEY,
      type VARCHAR(64),
      clustername VARCHAR(64),
      hostname VARCHAR(512),
      gossipport integer,
      port integer,
      createat bigint,
      lastpingat bigint
    )`);
  } else {
    await db.exec(`CREATE TABLE IF NOT EXISTS ClusterDiscovery (
      Id varchar(26) NOT NULL,
      Type varchar(64) DEFAULT NULL,
      ClusterName varchar(64) DEFAULT NULL,
      Hostname text,
      GossipPort int(11) DEFAULT NULL,
      Port integer DEFAULT NULL,
      CreateAt bigint(20) DEFAULT NULL,
      LastPingAt bigint(20) DEFAULT NULL,
      PRIMARY KEY (Id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  }
}

/** Inserts or refreshes a node row the way Mattermost's discovery service does. */
export async function upsertNode(
  db: Db,
  row: { id: string; hostname: string; clusterName: string; lastPingAt: number; type?: string; port?: number; gossipPort?: number },
): Promise<void> {
  await db.exec('DELETE FROM ClusterDiscovery WHERE Id = ?', [row.id]);
  await db.exec(
    'INSERT INTO ClusterDiscovery (Id, Type, ClusterName, Hostname, GossipPort, Port, CreateAt, LastPingAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [row.id, row.type ?? 'mattermost_app', row.clusterName, row.hostname, row.gossipPort ?? 8074, row.port ?? 8065, row.lastPingAt, row.lastPingAt],
  );
}

/** A 26-char Mattermost-style id. */
export function newId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const b = randomBytes(26);
  let s = '';
  for (let i = 0; i < 26; i++) s += alphabet[b[i]! % 36];
  return s;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns true or `timeoutMs` passes; returns whether it became true. */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 25): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(stepMs);
  }
  return fn();
}
