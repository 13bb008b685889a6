import { Redis } from 'ioredis';
import { windowMs, windowStartOf, type Admission, type QuotaBackend, type QuotaLimits, type QuotaRefusal } from './quota-backend.ts';

// Checks every limit and counts only when all allow, in one atomic script,
// so any number of gateway processes share one limit exactly.
const admitScript = `
local requests = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
local tokens = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local budget = tonumber(ARGV[3])
local estimate = tonumber(ARGV[4])
if rpm >= 0 and requests + 1 > rpm then return {0, 'rpm', requests, tokens, used} end
if tpm >= 0 and tokens + estimate > tpm then return {0, 'tpm', requests, tokens, used} end
if budget >= 0 and used + estimate > budget then return {0, 'budget', requests, tokens, used} end
redis.call('HINCRBY', KEYS[1], 'r', 1)
redis.call('HINCRBY', KEYS[1], 't', estimate)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('INCRBY', KEYS[2], estimate)
return {1, '', requests + 1, tokens + estimate, used + estimate}
`;

const settleScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local tokens = redis.call('HINCRBY', KEYS[1], 't', ARGV[1])
  if tokens < 0 then redis.call('HSET', KEYS[1], 't', 0) end
end
local used = redis.call('INCRBY', KEYS[2], ARGV[1])
if used < 0 then redis.call('SET', KEYS[2], 0) end
return 1
`;

// Raise the shared counter to what storage says, never lower it (another replica may be ahead).
const seedScript = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`;

export class RedisQuota implements QuotaBackend {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(url: string, prefix = 'switchyard') {
    this.#redis = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
    // Connection trouble is reported by the failing command; no unhandled 'error' events.
    this.#redis.on('error', () => undefined);
    this.#prefix = prefix;
  }

  #windowKey(keyId: string, start: number): string {
    return `${this.#prefix}:rl:${keyId}:${start}`;
  }

  #usedKey(keyId: string): string {
    return `${this.#prefix}:used:${keyId}`;
  }

  async admit(limits: QuotaLimits, estimatedTokens: number, now: number): Promise<Admission> {
    const start = windowStartOf(now);
    const result = (await this.#redis.eval(
      admitScript,
      2,
      this.#windowKey(limits.keyId, start),
      this.#usedKey(limits.keyId),
      limits.rpm ?? -1,
      limits.tpm ?? -1,
      limits.budgetTokens ?? -1,
      Math.max(0, Math.round(estimatedTokens)),
      windowMs * 2,
    )) as [number, string, number, number, number];
    const state = { requests: Number(result[2]), tokens: Number(result[3]), usedTokens: Number(result[4]), resetMs: start + windowMs - now };
    return result[0] === 1 ? { allowed: true, state } : { allowed: false, refusal: result[1] as QuotaRefusal, state };
  }

  async settle(keyId: string, tokenDelta: number, windowStart: number): Promise<void> {
    if (tokenDelta === 0) return;
    await this.#redis.eval(settleScript, 2, this.#windowKey(keyId, windowStart), this.#usedKey(keyId), Math.round(tokenDelta));
  }

  async seedUsed(keyId: string, usedTokens: number): Promise<void> {
    await this.#redis.eval(seedScript, 1, this.#usedKey(keyId), Math.round(usedTokens));
  }

  async usedTokens(keyId: string): Promise<number> {
    return Number((await this.#redis.get(this.#usedKey(keyId))) ?? 0);
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
