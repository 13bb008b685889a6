import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { postgresAvailable, postgresUrl } from '../support/postgres.ts';

// Three replicas started at once on one fresh PostgreSQL database with the same
// fleet file: migrations and the fleet apply run under one lock (decision 0030),
// so none fails with "already exists" and each lists every server of the file.
const adminKey = 'sk-sy-replicas-start-together-admin-0';
// Replicas of one database share their secret key (a replica with another is refused: secret-key-check.ts).
const secretKey = 'replicas-start-together-secret-0123456789ab';
const available = await postgresAvailable();
const started: GatewayProcess[] = [];
const databases: string[] = [];

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function scratchDatabase(): Promise<string> {
  const name = `sy_replicas_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await admin((client) => client.query(`create database ${name}`));
  databases.push(name);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((gateway) => gateway.kill('SIGKILL')));
  for (const name of databases.splice(0)) await admin((client) => client.query(`drop database if exists ${name} with (force)`));
});

describe.skipIf(!available)('replicas started together on one database', () => {
  it('all start, migrate once and list the same servers of the fleet file', async () => {
    const databaseUrl = await scratchDatabase();
    const directory = mkdtempSync(join(tmpdir(), 'sy-replicas-'));
    const fleet = join(directory, 'fleet.yaml');
    writeFileSync(
      fleet,
      ['servers:', ...['alpha', 'beta', 'gamma', 'delta'].map((name, index) => `  - {name: ${name}, server_type: vllm, base_url: "http://127.0.0.1:${9 + index}"}`), 'routes:', '  - {name: chat, targets: [yi34b]}', ''].join('\n'),
    );
    const replicas = await Promise.allSettled(
      [0, 1, 2].map((index) =>
        spawnGateway({ DATABASE_URL: databaseUrl, SWITCHYARD_CONFIG: fleet, SWITCHYARD_ADMIN_KEY: adminKey, SWITCHYARD_SECRET_KEY: secretKey, SWITCHYARD_DATA_DIR: mkdtempSync(join(tmpdir(), `sy-replica-${index}-`)), SWITCHYARD_LOG_FORMAT: 'json' }).then((gateway) => {
          started.push(gateway);
          return gateway;
        }),
      ),
    );
    const failures = replicas.filter((result) => result.status === 'rejected').map((result) => String((result as PromiseRejectedResult).reason));
    expect(failures).toEqual([]);
    for (const result of replicas) {
      const gateway = (result as PromiseFulfilledResult<GatewayProcess>).value;
      const listed = (await (await fetch(`${gateway.url}/api/v1/model-servers`, { headers: { authorization: `Bearer ${adminKey}` } })).json()) as { data: Array<{ name: string }> };
      expect(listed.data.map((server) => server.name).sort()).toEqual(['alpha', 'beta', 'delta', 'gamma']);
    }
    const migrated = await admin(async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return (await client.query<{ name: string }>('select name from kysely_migration')).rows.map((row) => row.name);
      } finally {
        await client.end();
      }
    });
    expect(new Set(migrated).size).toBe(migrated.length);
  });
});
