import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/storage/open-database.ts';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/postgres.ts';

const hasPostgres = await postgresAvailable();

// A rolling upgrade's other half: a replica of this release (re)starting on a
// database that a later release has already migrated (see rolling-upgrade.test.ts).
describe.each([
  { name: 'sqlite', enabled: true },
  { name: 'postgres', enabled: hasPostgres },
] as const)('a database migrated by a later release, on $name', ({ name, enabled }) => {
  const schema = uniqueSchema('sy_later_schema');
  const dataDir = mkdtempSync(join(tmpdir(), 'sy-later-schema-'));
  const open = (onLaterSchema?: (migrations: string[]) => void) =>
    openDatabase({ dataDir, ...(name === 'postgres' ? { databaseUrl: postgresUrl, postgresSchema: schema } : {}), ...(onLaterSchema === undefined ? {} : { onLaterSchema }) });
  const opened: Database[] = [];

  afterAll(async () => {
    await Promise.all(opened.map((database) => database.close()));
    if (enabled && name === 'postgres') await dropSchema(schema);
  });

  it.skipIf(!enabled)('is opened as it is, without migrating, and the caller is told which migrations it does not know', async () => {
    const first = await open();
    opened.push(first);
    const ran = async (database: Database) => (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(database.db)).rows.map((row) => row.name);
    const ours = await ran(first);
    expect(ours.length).toBeGreaterThan(10);
    // What a later release would have done: one more migration, one more (added) column.
    await sql`insert into kysely_migration (name, timestamp) values ('9999-from-a-later-release', '2027-01-01T00:00:00.000Z')`.execute(first.db);
    await sql`alter table usage_records add column later_release_field text`.execute(first.db);
    const told: string[][] = [];
    const second = await open((migrations) => told.push(migrations));
    opened.push(second);
    expect(told).toEqual([['9999-from-a-later-release']]);
    expect(await ran(second)).toEqual([...ours, '9999-from-a-later-release'].sort());
    // And it works on it: this release's newest column reads back (the process test runs whole releases on it).
    expect((await sql<{ queue_wait_ms: number }>`select queue_wait_ms from usage_records`.execute(second.db)).rows).toEqual([]);
  });

  it.skipIf(!enabled)('is migrated as usual when it knows every migration there', async () => {
    const told: string[][] = [];
    const fresh = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'sy-later-schema-fresh-')), ...(name === 'postgres' ? { databaseUrl: postgresUrl, postgresSchema: `${schema}_fresh` } : {}), onLaterSchema: (migrations) => told.push(migrations) });
    await fresh.close();
    expect(told).toEqual([]);
    if (name === 'postgres') await dropSchema(`${schema}_fresh`);
  });
});
