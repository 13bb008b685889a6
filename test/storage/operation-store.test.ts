import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/domain/audit.ts';
import { OperationService } from '../../src/control/operations/operation-service.ts';
import { OperationStore } from '../../src/storage/operation-store.ts';
import { openDatabase, type Database } from '../../src/storage/open-database.ts';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/postgres.ts';

const hasPostgres = await postgresAvailable();
const actor = { keyId: 'key-1', requestId: 'req-1', sourceIp: '127.0.0.1' };

describe.each([
  { name: 'sqlite', enabled: true },
  { name: 'postgres', enabled: hasPostgres },
] as const)('operations on $name', ({ name, enabled }) => {
  let database: Database;
  const schema = uniqueSchema('sy_operations');

  beforeAll(async () => {
    if (!enabled) return;
    database =
      name === 'sqlite'
        ? await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'sy-operations-')) })
        : await openDatabase({ dataDir: '/nonexistent', databaseUrl: postgresUrl, postgresSchema: schema });
  });

  afterAll(async () => {
    if (!enabled) return;
    await database?.close();
    if (name === 'postgres') await dropSchema(schema);
  });

  it.skipIf(!enabled)('runs targets with bounded concurrency, keeps each result, stores the end and audits it', async () => {
    const audits: AuditEntry[] = [];
    let now = Date.parse('2026-12-01T10:00:00Z');
    const service = new OperationService({ store: new OperationStore(database.db), log: pino({ level: 'silent' }), concurrency: 2, audit: async (entry) => void audits.push(entry), now: () => now });
    let running = 0;
    let most = 0;
    const started = await service.start({
      kind: 'pull',
      model: 'mixtral',
      actor,
      targets: ['a', 'b', 'c', 'd'].map((id) => ({ server_id: id, name: `gpu-${id}` })),
      run: async (target, progress) => {
        running++;
        most = Math.max(most, running);
        progress({ message: 'pulling', completed: 5, total: 10 });
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        if (target.server_id === 'c') throw new Error('pull failed: disk full');
        return { digest: `digest-${target.server_id}` };
      },
    });
    expect(started.status).toBe('running');
    const ended = await service.settled(started.id);
    expect(most).toBe(2);
    expect(ended.status).toBe('failed');
    expect(ended.servers.map((target) => [target.name, target.status, target.error ?? null, target.digest])).toEqual([
      ['gpu-a', 'succeeded', null, 'digest-a'],
      ['gpu-b', 'succeeded', null, 'digest-b'],
      ['gpu-c', 'failed', 'pull failed: disk full', null],
      ['gpu-d', 'succeeded', null, 'digest-d'],
    ]);
    const stored = await new OperationStore(database.db).get(started.id);
    expect(stored).toEqual(ended);
    expect(audits).toEqual([expect.objectContaining({ action: 'operation.pull', targetType: 'operation', targetId: started.id, actor })]);
    expect((await service.list({ status: 'failed' })).map((view) => view.id)).toContain(started.id);

    // Kept 7 days, then pruned.
    now += 8 * 86_400_000;
    expect(await service.prune()).toBeGreaterThanOrEqual(1);
    expect(await service.get(started.id)).toBeNull();
    await service.close();
  });

  it.skipIf(!enabled)('a cancelled operation aborts its running targets and never starts the waiting ones', async () => {
    const service = new OperationService({ store: new OperationStore(database.db), log: pino({ level: 'silent' }), concurrency: 1, audit: async () => undefined });
    const calls: string[] = [];
    const started = await service.start({
      kind: 'load',
      model: 'phi3',
      actor,
      targets: [{ server_id: 'a', name: 'gpu-a' }, { server_id: 'b', name: 'gpu-b' }],
      run: (target, _progress, signal) => {
        calls.push(target.name);
        return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
      },
    });
    const seen: string[] = [];
    service.subscribe(started.id, (view) => seen.push(view.status));
    const cancelled = await service.cancel(started.id, actor);
    expect(cancelled?.status).toBe('cancelled');
    expect(cancelled?.servers.map((target) => target.status)).toEqual(['cancelled', 'cancelled']);
    expect(calls).toEqual(['gpu-a']);
    expect(seen.at(-1)).toBe('cancelled');
    expect((await new OperationStore(database.db).get(started.id))?.status).toBe('cancelled');
    await service.close();
  });
});
