import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/storage/open-database.ts';
import { ResponseStore } from '../../src/storage/response-store.ts';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/postgres.ts';

const hasPostgres = await postgresAvailable();
const log = pino({ level: 'silent' });

describe.each([
  { name: 'sqlite', enabled: true },
  { name: 'postgres', enabled: hasPostgres },
] as const)('stored responses on $name', ({ name, enabled }) => {
  let database: Database;
  const schema = uniqueSchema('sy_responses');
  let now = Date.parse('2026-12-03T10:00:00Z');
  const clock = () => now;
  const entry = (id: string, keyId: string) => ({ id, keyId, response: { id, object: 'response', output: [] }, inputItems: [{ type: 'message', role: 'user', content: 'hi' }], conversation: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] });

  beforeAll(async () => {
    if (!enabled) return;
    database = name === 'sqlite' ? await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'sy-responses-')) }) : await openDatabase({ dataDir: '/nonexistent', databaseUrl: postgresUrl, postgresSchema: schema });
  });

  afterAll(async () => {
    if (!enabled) return;
    await database?.close();
    if (name === 'postgres') await dropSchema(schema);
  });

  it.skipIf(!enabled)('answers a response from the moment it is put, and after it is written, to its own key only', async () => {
    const store = new ResponseStore({ db: database.db, log, ttlHours: 72, now: clock });
    store.put(entry('resp_a', 'key-1'));
    // Not written yet: read from memory.
    expect(await database.db.selectFrom('stored_responses').selectAll().where('id', '=', 'resp_a').executeTakeFirst()).toBeUndefined();
    expect((await store.get('resp_a', 'key-1'))?.conversation).toHaveLength(2);
    await store.flush();
    const fresh = new ResponseStore({ db: database.db, log, ttlHours: 72, now: clock });
    expect(await fresh.get('resp_a', 'key-1')).toMatchObject({ id: 'resp_a', keyId: 'key-1', response: { object: 'response' }, inputItems: [{ role: 'user' }] });
    expect(await fresh.get('resp_a', 'key-2')).toBeNull();
    expect(await fresh.delete('resp_a', 'key-2')).toBe(false);
    expect(await fresh.delete('resp_a', 'key-1')).toBe(true);
    expect(await fresh.get('resp_a', 'key-1')).toBeNull();
  });

  it.skipIf(!enabled)('stops answering a response once it expires, and prunes it', async () => {
    const store = new ResponseStore({ db: database.db, log, ttlHours: 1, now: clock });
    store.put(entry('resp_old', 'key-1'));
    await store.flush();
    now += 59 * 60_000;
    expect(await store.get('resp_old', 'key-1')).not.toBeNull();
    now += 2 * 60_000;
    expect(await store.get('resp_old', 'key-1')).toBeNull();
    now += 3_600_000;
    await store.flush();
    expect(await database.db.selectFrom('stored_responses').selectAll().where('id', '=', 'resp_old').executeTakeFirst()).toBeUndefined();
  });
});
