import { createRedis, type RedisClient } from '../../storage/redis-connection.ts';
import { FailureMemory, type IntegrationStatus } from '../../observability/integration-status.ts';
import { QuotaBackendError, windowMs, type Admission, type QuotaBackend, type QuotaLimits, type QuotaRefusal } from './quota-backend.ts';

// Checks every limit and counts only when all allow, in one atomic script,
// so any number of gateway processes share one limit exactly. A missing budget
// counter (Redis restarted empty, or evicted it) is seeded from storage inside
// the same script, so no request can slip in between: without a seed the script
// asks for one (-1) and the caller runs it again with what storage says.
// A window starts with the first request after the last one ended, on the
// caller's clock (ARGV[5]); a replica whose clock lags a little stays in it.
const admitScript = `
local used = redis.call('GET', KEYS[2])
if not used then
  local seed = tonumber(ARGV[7])
  if seed < 0 then return {-1} end
  redis.call('SET', KEYS[2], seed)
  used = seed
else
  used = tonumber(used)
end
local now = tonumber(ARGV[5])
local window = tonumber(ARGV[6])
local start = tonumber(redis.call('HGET', KEYS[1], 's') or '-1')
local requests = tonumber(redis.call('HGET', KEYS[1], 'r') or '0')
local tokens = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
if start < 0 or now >= start + window then
  start = now
  requests = 0
  tokens = 0
  redis.call('HSET', KEYS[1], 's', ARGV[5], 'r', 0, 't', 0)
  redis.call('PEXPIRE', KEYS[1], window * 2)
end
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local budget = tonumber(ARGV[3])
local estimate = tonumber(ARGV[4])
if rpm >= 0 and requests + 1 > rpm then return {0, 'rpm', requests, tokens, used, start} end
if tpm >= 0 and tokens + estimate > tpm then return {0, 'tpm', requests, tokens, used, start} end
if budget >= 0 and used + estimate > budget then return {0, 'budget', requests, tokens, used, start} end
redis.call('HINCRBY', KEYS[1], 'r', 1)
redis.call('HINCRBY', KEYS[1], 't', estimate)
redis.call('INCRBY', KEYS[2], estimate)
return {1, '', requests + 1, tokens + estimate, used + estimate, start}
`;

// A settlement never creates the budget counter: if it is gone, storage holds the
// real usage and the next admission seeds from it.
const settleScript = `
if tonumber(redis.call('HGET', KEYS[1], 's') or '-1') == tonumber(ARGV[2]) then
  local tokens = redis.call('HINCRBY', KEYS[1], 't', ARGV[1])
  if tokens < 0 then redis.call('HSET', KEYS[1], 't', 0) end
end
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
local used = redis.call('INCRBY', KEYS[2], ARGV[1])
if used < 0 then
  redis.call('SET', KEYS[2], 0)
  used = 0
end
return used
`;

// Raise the shared counter to what storage says, never lower it (another replica may be ahead).
const seedScript = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`;

/** How long the first command waits for the first connection (later, a lost connection fails at once). */
const firstConnectWaitMs = 2_000;

export class RedisQuota implements QuotaBackend {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #firstReady: Promise<void>;
  #wasReady = false;

  constructor(url: string, prefix = 'switchyard') {
    // A lost connection fails commands at once (see #run) rather than queueing
    // them behind reconnects, and a hung Redis within 5 s (not less: under load an
    // event-loop stall would fire the timer before the reply is read); the service
    // then applies its fail-open or fail-closed policy instead of holding the request.
    this.#redis = createRedis(url, { maxRetriesPerRequest: 1, commandTimeout: 5_000, enableOfflineQueue: true, lazyConnect: false });
    // Connection trouble is reported by the failing command; no unhandled 'error' events.
    this.#redis.on('error', (error: Error) => this.#connection.fail(`Redis: ${error.message}`));
    this.#redis.on('ready', () => this.#connection.succeed());
    this.#firstReady = new Promise((resolve) => this.#redis.once('ready', () => resolve()));
    this.#redis.on('ready', () => (this.#wasReady = true));
    this.#prefix = prefix;
  }

  readonly #connection = new FailureMemory();

  /** Whether Redis answers now (ioredis's connection state), and its last connection error. */
  connectionStatus(): IntegrationStatus {
    const remembered = this.#connection.status();
    if (this.#redis.status === 'ready') return { ...remembered, status: remembered.status === 'down' ? 'degraded' : remembered.status };
    return { status: 'down', lastError: remembered.lastError ?? `Redis: not connected (${this.#redis.status})`, lastErrorAt: remembered.lastErrorAt };
  }

  #windowKey(keyId: string): string {
    // {keyId}: a Redis Cluster keeps a key's counters in one slot, as its scripts need (decision 0032).
    return `${this.#prefix}:rl:{${keyId}}`;
  }

  #usedKey(keyId: string): string {
    return `${this.#prefix}:used:{${keyId}}`;
  }

  #spentKey(keyId: string): string {
    return `${this.#prefix}:spent:{${keyId}}`;
  }

  #isReady(): boolean {
    return this.#redis.status === 'ready';
  }

  /** Runs a command only on a live connection: a lost Redis fails at once, not after reconnect attempts. */
  async #run<T>(command: () => Promise<T>): Promise<T> {
    if (!this.#isReady()) {
      if (!this.#wasReady) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([this.#firstReady, new Promise((resolve) => (timer = setTimeout(resolve, firstConnectWaitMs)))]);
        clearTimeout(timer);
      }
      if (!this.#isReady()) throw new QuotaBackendError(`Redis is not connected (${this.#redis.status}).`);
    }
    try {
      return await command();
    } catch (error) {
      throw new QuotaBackendError(`Redis command failed: ${error instanceof Error ? error.message : 'unknown error'}`, { cause: error });
    }
  }

  async admit(limits: QuotaLimits, estimatedTokens: number, now: number, storedUsed: () => Promise<number>): Promise<Admission> {
    const run = (seed: number) =>
      this.#run(
        async () =>
          (await this.#redis.eval(
            admitScript,
            2,
            this.#windowKey(limits.keyId),
            this.#usedKey(limits.keyId),
            limits.rpm ?? -1,
            limits.tpm ?? -1,
            limits.budgetTokens ?? -1,
            Math.max(0, Math.round(estimatedTokens)),
            Math.round(now),
            windowMs,
            seed,
          )) as [number, string?, number?, number?, number?, number?],
      );
    let result = await run(-1);
    if (result[0] === -1) result = await run(Math.max(0, Math.round(await storedUsed())));
    const start = Number(result[5]);
    const state = { requests: Number(result[2]), tokens: Number(result[3]), usedTokens: Number(result[4]), resetMs: Math.max(0, start + windowMs - now), windowStart: start };
    return result[0] === 1 ? { allowed: true, state } : { allowed: false, refusal: result[1] as QuotaRefusal, state };
  }

  async settle(keyId: string, tokenDelta: number, windowStart: number): Promise<number | null> {
    const used = Number(await this.#run(() => this.#redis.eval(settleScript, 2, this.#windowKey(keyId), this.#usedKey(keyId), Math.round(tokenDelta), windowStart)));
    return used < 0 ? null : used;
  }

  async seedUsed(keyId: string, usedTokens: number): Promise<void> {
    await this.#run(() => this.#redis.eval(seedScript, 1, this.#usedKey(keyId), Math.round(usedTokens)));
  }

  async usedTokens(keyId: string): Promise<number> {
    return Number((await this.#run(() => this.#redis.get(this.#usedKey(keyId)))) ?? 0);
  }

  async addSpend(keyId: string, cost: number): Promise<void> {
    await this.#run(() => this.#redis.incrbyfloat(this.#spentKey(keyId), cost));
  }

  async spent(keyId: string): Promise<number | null> {
    const value = await this.#run(() => this.#redis.get(this.#spentKey(keyId)));
    return value === null ? null : Number(value);
  }

  async seedSpend(keyId: string, spent: number): Promise<void> {
    // Only where missing: another replica may have seeded and counted since.
    await this.#run(() => this.#redis.set(this.#spentKey(keyId), String(spent), 'NX'));
  }

  async close(): Promise<void> {
    // QUIT would wait for a connection that is not there.
    if (!this.#isReady()) return this.#redis.disconnect();
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
