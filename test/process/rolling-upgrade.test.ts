import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { postgresAvailable, postgresUrl } from '../support/postgres.ts';
import { previousSchemaRelease, type PreviousRelease } from '../support/previous-release.ts';
import { waitUntil } from '../support/wait-until.ts';

// A rolling upgrade on one PostgreSQL: replicas of the previous release keep
// serving while a replica of this one migrates the database under them, and a
// previous-release replica that restarts mid-rollout (or after a rollback)
// starts on the migrated schema instead of refusing it.
const adminKey = 'sk-sy-rolling-upgrade-admin-key-0000';
const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
const databaseName = `sy_upgrade_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const databaseUrl = (() => {
  const url = new URL(postgresUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
})();

const available = await postgresAvailable();
const previous: PreviousRelease | null = available ? await previousSchemaRelease() : null;
// Not a service the machine provides but the checkout's own history: a tarball or a shallow clone has none.
if (available && previous === null) process.stderr.write('\n*** no git history here (the previous release is taken from it): the rolling-upgrade test is SKIPPED ***\n\n');

let upstream: OpenAIFake;
const started: GatewayProcess[] = [];

async function admin(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  return client;
}

beforeAll(async () => {
  if (previous === null) return;
  const client = await admin();
  await client.query(`create database ${databaseName}`);
  await client.end();
  upstream = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] });
});

afterAll(async () => {
  await Promise.all(started.map((gateway) => gateway.kill('SIGKILL')));
  await upstream?.stop();
  previous?.remove();
  if (previous === null) return;
  const client = await admin();
  await client.query(`drop database if exists ${databaseName} with (force)`);
  await client.end();
});

function replica(release: 'previous' | 'current'): Promise<GatewayProcess> {
  // Replicas of one database share their secret key (a replica with another is refused).
  const env = { DATABASE_URL: databaseUrl, SWITCHYARD_ADMIN_KEY: adminKey, SWITCHYARD_SECRET_KEY: 'rolling-upgrade-secret-key-0123456789abcdef', SWITCHYARD_DATA_DIR: mkdtempSync(join(tmpdir(), 'sy-upgrade-')), SWITCHYARD_USAGE_FLUSH_MS: '100', SWITCHYARD_LOG_FORMAT: 'json' };
  return spawnGateway(env, [], release === 'previous' ? { bin: join((previous as PreviousRelease).root, 'bin/switchyard.js') } : {}).then((gateway) => {
    started.push(gateway);
    return gateway;
  });
}

async function chat(gateway: GatewayProcess, content: string): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'yi34b', max_tokens: 4, messages: [{ role: 'user', content }] }) });
  const text = await response.text();
  if (response.status !== 200) process.stderr.write(`${response.status} ${text}\n`);
  return response.status;
}

async function migrations(): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<{ name: string }>('select name from kysely_migration order by name')).rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

describe.skipIf(previous === null)('a rolling upgrade', () => {
  it('migrates under replicas of the previous release without breaking them, and lets one of them restart on the new schema', async () => {
    const release = previous as PreviousRelease;
    const old = await replica('previous');
    expect((await migrations()).includes(release.newerMigration)).toBe(false);
    const registered = await fetch(`${old.url}/api/v1/model-servers`, { method: 'POST', headers, body: JSON.stringify({ name: 'gpu', server_type: 'vllm', base_url: upstream.url }) });
    expect(registered.status).toBe(201);
    await fetch(`${old.url}/api/v1/model-servers/health-check-all`, { method: 'POST', headers: { authorization: headers.authorization } });
    expect(await chat(old, 'before the upgrade')).toBe(200);

    // The new release starts on the same database and migrates it, while the old replica is serving.
    const current = await replica('current');
    expect(await migrations()).toContain(release.newerMigration);
    // The old replica keeps answering, and its writes (usage records, an admin change) still go in.
    for (let turn = 0; turn < 5; turn++) expect(await chat(old, `during the upgrade ${turn}`)).toBe(200);
    const key = await fetch(`${old.url}/api/v1/keys`, { method: 'POST', headers, body: JSON.stringify({ name: 'made-by-the-old-release', scopes: ['inference'] }) });
    expect(key.status).toBe(201);
    // The new one sees what the old one registered, and serves too.
    const servers = (await (await fetch(`${current.url}/api/v1/model-servers`, { headers })).json()) as { data: Array<{ name: string }> };
    expect(servers.data.map((server) => server.name)).toContain('gpu');
    await fetch(`${current.url}/api/v1/model-servers/health-check-all`, { method: 'POST', headers: { authorization: headers.authorization } });
    expect(await chat(current, 'after the upgrade')).toBe(200);

    // An old replica restarting mid-rollout (or after a rollback) runs on the newer schema instead of refusing it.
    await old.kill('SIGTERM');
    if (release.runsOnLaterSchema) {
      const restarted = await replica('previous');
      expect(restarted.output()).toContain('migrated by a later release');
      await fetch(`${restarted.url}/api/v1/model-servers/health-check-all`, { method: 'POST', headers: { authorization: headers.authorization } });
      expect(await chat(restarted, 'old code, new schema')).toBe(200);
    } else {
      // Releases from before that tolerance (src/storage/later-schema.ts) refuse a schema they do not know.
      process.stderr.write(`\n*** the previous release (${release.commit.slice(0, 8)}) predates running on a later schema: its restart is not tested ***\n\n`);
      expect(await chat(current, 'old code, new schema')).toBe(200);
    }

    // Every request of both releases was recorded: 1 + 5 before the restart, 1 on the new one, 1 after it.
    await waitUntil(async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return Number((await client.query<{ count: string }>("select count(*) from usage_records where status = 200")).rows[0]?.count) === 8;
      } finally {
        await client.end();
      }
    }, { what: 'the usage records of all eight requests' });
  });
});
