import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryQuota } from '../../src/auth/quota/memory-quota.ts';
import type { QuotaBackend } from '../../src/auth/quota/quota-backend.ts';
import { RedisQuota } from '../../src/auth/quota/redis-quota.ts';
import { redisAvailable, redisUrl } from '../support/redis.ts';

const hasRedis = await redisAvailable();
// The shared Redis, under a prefix of this run's own, removed afterwards.
const prefix = `sy-test-quota-${randomUUID()}`;
const backends: Array<[name: string, make: () => QuotaBackend]> = [['memory', () => new MemoryQuota()]];
if (hasRedis) backends.push(['redis', () => new RedisQuota(redisUrl, prefix)]);
const opened: QuotaBackend[] = [];
afterAll(async () => {
  for (const backend of opened) await backend.close();
  if (!hasRedis) return;
  const client = new Redis(redisUrl);
  const keys = await client.keys(`${prefix}:*`);
  if (keys.length > 0) await client.del(...keys);
  await client.quit();
});

const noneStored = async () => 0;
// One second before a wall-clock minute turns: a window tied to the wall clock would end here.
const t0 = Date.parse('2026-01-01T12:00:59.000Z');

describe.each(backends)('%s quota backend', (_name, make) => {
  const backend = make();
  opened.push(backend);
  const limits = (overrides: { rpm?: number; tpm?: number; budgetTokens?: number }) => ({ keyId: randomUUID(), rpm: overrides.rpm ?? null, tpm: overrides.tpm ?? null, budgetTokens: overrides.budgetTokens ?? null });

  it('opens a key\'s minute window at its first request and renews it exactly a minute later, on the injected clock', async () => {
    const key = limits({ rpm: 2 });
    expect((await backend.admit(key, 1, t0, noneStored)).allowed).toBe(true);
    expect((await backend.admit(key, 1, t0 + 500, noneStored)).allowed).toBe(true);
    const refused = await backend.admit(key, 1, t0 + 1_000, noneStored);
    expect(refused).toMatchObject({ allowed: false, refusal: 'rpm', state: { requests: 2, resetMs: 59_000, windowStart: t0 } });
    // The wall-clock minute has turned; the window has not.
    expect(await backend.admit(key, 1, t0 + 59_999, noneStored)).toMatchObject({ allowed: false, state: { resetMs: 1 } });
    expect(await backend.admit(key, 1, t0 + 60_000, noneStored)).toMatchObject({ allowed: true, state: { requests: 1, resetMs: 60_000, windowStart: t0 + 60_000 } });
  });

  it('settles tokens into the window they were reserved in, never into a later one', async () => {
    const key = limits({ tpm: 100 });
    const first = await backend.admit(key, 80, t0, noneStored);
    expect(first.allowed).toBe(true);
    expect((await backend.admit(key, 30, t0 + 1, noneStored)).allowed).toBe(false);
    await backend.settle(key.keyId, -60, first.state.windowStart);
    expect(await backend.admit(key, 30, t0 + 2, noneStored)).toMatchObject({ allowed: true, state: { tokens: 50 } });
    const next = await backend.admit(key, 90, t0 + 60_000, noneStored);
    expect(next).toMatchObject({ allowed: true, state: { tokens: 90 } });
    // A late settlement for the old window leaves the new one alone.
    await backend.settle(key.keyId, -50, first.state.windowStart);
    expect(await backend.admit(key, 20, t0 + 60_001, noneStored)).toMatchObject({ allowed: false, refusal: 'tpm', state: { tokens: 90 } });
  });

  it('admits exactly one of 50 simultaneous requests when the budget holds exactly one', async () => {
    const key = limits({ budgetTokens: 10 });
    const admissions = await Promise.all(Array.from({ length: 50 }, (_, index) => backend.admit(key, 10, t0 + index, noneStored)));
    expect(admissions.filter((admission) => admission.allowed)).toHaveLength(1);
    expect(admissions.filter((admission) => !admission.allowed && admission.refusal === 'budget')).toHaveLength(49);
  });
});

describe.skipIf(!hasRedis)('redis quota backend without a counter', () => {
  it('seeds a missing budget counter from storage before checking, once', async () => {
    const backend = new RedisQuota(redisUrl, prefix);
    opened.push(backend);
    const key = { keyId: randomUUID(), rpm: null, tpm: null, budgetTokens: 100 };
    let asked = 0;
    const stored = async () => {
      asked += 1;
      return 95;
    };
    expect(await backend.admit(key, 10, t0, stored)).toMatchObject({ allowed: false, refusal: 'budget', state: { usedTokens: 95 } });
    expect(await backend.admit(key, 5, t0, stored)).toMatchObject({ allowed: true, state: { usedTokens: 100 } });
    expect(asked).toBe(1);
    // A settlement for a counter that is gone does not recreate it from nothing.
    const other = randomUUID();
    expect(await backend.settle(other, 40, t0)).toBeNull();
    expect(await backend.usedTokens(other)).toBe(0);
  });
});
