import type { FastifyBaseLogger } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { AppError } from '../../errors/app-error.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { ApiKeyStore } from '../../storage/api-key-store.ts';
import type { Principal } from '../key-ring.ts';
import type { Admission, QuotaBackend } from './quota-backend.ts';

export interface QuotaTicket {
  keyId: string;
  windowStart: number;
  reserved: number;
  budgetTokens: number | null;
}

export type QuotaDecision = { ok: true; ticket: QuotaTicket | null; headers: Record<string, string> } | { ok: false; error: AppError; headers: Record<string, string> };

/** What happens to a key with limits while the backend (Redis) cannot answer. */
export type QuotaFailurePolicy = 'open' | 'closed';

export interface QuotaServiceOptions {
  backend: QuotaBackend;
  store: ApiKeyStore;
  log: FastifyBaseLogger;
  onBudgetExceeded?: (principal: Principal) => void;
  /** Epoch milliseconds; injected by tests so windows never straddle a real minute. */
  clock?: () => number;
  onBackendError?: QuotaFailurePolicy;
  metrics?: Registry;
  /** The currency key budgets in currency are in (shown in refusals). */
  currency?: string;
}

const flushEveryMs = 1_000;
const retryAfterUnavailableMs = 5_000;

/**
 * Rate limits and budgets per key on top of a backend (memory, or Redis when
 * shared). Settled usage is written to storage in batches, off the request path,
 * so budgets survive restarts.
 */
export class QuotaService {
  readonly #backend: QuotaBackend;
  readonly #store: ApiKeyStore;
  readonly #log: FastifyBaseLogger;
  readonly #onBudgetExceeded: (principal: Principal) => void;
  readonly #clock: () => number;
  readonly #policy: QuotaFailurePolicy;
  readonly #backendErrors: Counter<'operation' | 'policy'>;
  readonly #overshoot: Counter;
  readonly #refused: Counter<'key_id' | 'limit'>;
  readonly #pending = new Map<string, { tokens: number; lastUsedAt: number }>();
  readonly #announced = new Set<string>();
  /** What each key spent (currency) as this process knows it, and what is not yet in storage. */
  readonly #spentLocal = new Map<string, number>();
  readonly #pendingCost = new Map<string, number>();
  readonly #currency: string;
  #timer: NodeJS.Timeout | null = null;
  #isBackendDown = false;

  constructor(options: QuotaServiceOptions) {
    this.#backend = options.backend;
    this.#store = options.store;
    this.#log = options.log;
    this.#onBudgetExceeded = options.onBudgetExceeded ?? (() => undefined);
    this.#clock = options.clock ?? Date.now;
    this.#policy = options.onBackendError ?? 'open';
    this.#currency = options.currency ?? 'USD';
    const registers = options.metrics === undefined ? [] : [options.metrics];
    this.#backendErrors = new Counter({
      name: 'llm_quota_backend_errors_total',
      help: 'Quota operations the backend (Redis) could not answer, by operation and the policy applied (open: served unchecked; closed: refused with 503).',
      labelNames: ['operation', 'policy'],
      registers,
    });
    this.#backendErrors.inc({ operation: 'admit', policy: this.#policy }, 0);
    this.#overshoot = new Counter({
      name: 'llm_budget_overshoot_tokens_total',
      help: 'Tokens used past a key\'s budget: responses that used more than was reserved for them.',
      registers,
    });
    // key_id as in llm_key_budget_used_ratio: only admins create keys, so the label stays bounded.
    // The limit kind is what a client's 429 cannot say (rpm and tpm share one error code).
    this.#refused = new Counter({
      name: 'llm_rate_limited_total',
      help: 'Requests refused with 429 by a key\'s own limit: rpm, tpm (per minute) or budget (tokens in all).',
      labelNames: ['key_id', 'limit'],
      registers,
    });
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.flush(), flushEveryMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.flush();
    await this.#backend.close();
  }

  /** Seeds counters from storage at start; a backend that cannot answer seeds lazily later. */
  async seed(keys: Array<{ keyId: string; usedTokens: number; usedCost?: number }>): Promise<void> {
    for (const key of keys) if ((key.usedCost ?? 0) > 0) this.#spentLocal.set(key.keyId, key.usedCost ?? 0);
    for (const key of keys) {
      if (key.usedTokens <= 0) continue;
      try {
        await this.#backend.seedUsed(key.keyId, key.usedTokens);
      } catch (error) {
        this.#backendFailed('seed', error);
        return;
      }
    }
  }

  /** The key's used tokens as the backend counts them, or null when it cannot answer. */
  async usedTokens(keyId: string): Promise<number | null> {
    try {
      return await this.#backend.usedTokens(keyId);
    } catch (error) {
      this.#backendFailed('read', error);
      return null;
    }
  }

  async admit(principal: Principal, estimatedTokens: number): Promise<QuotaDecision> {
    this.touch(principal.keyId, 0);
    if (!QuotaService.isLimited(principal)) return { ok: true, ticket: null, headers: {} };
    if (principal.budgetCost !== null) {
      const spent = await this.#spent(principal.keyId);
      if (spent !== null && spent >= principal.budgetCost) {
        this.#refused.inc({ key_id: principal.keyId, limit: 'budget' });
        this.#announceBudget(principal);
        return { ok: false, headers: {}, error: errors.costBudgetExhausted(principal.budgetCost, spent, this.#currency) };
      }
      if (principal.rpm === null && principal.tpm === null && principal.budgetTokens === null) return { ok: true, ticket: null, headers: {} };
    }
    const now = this.#clock();
    let admission: Admission;
    try {
      admission = await this.#backend.admit(
        { keyId: principal.keyId, rpm: principal.rpm, tpm: principal.tpm, budgetTokens: principal.budgetTokens },
        estimatedTokens,
        now,
        () => this.#storedUsed(principal.keyId),
      );
      this.#backendRecovered();
    } catch (error) {
      this.#backendFailed('admit', error);
      // Retry-After is written with the error, from its retryAfterMs.
      if (this.#policy === 'closed') return { ok: false, error: errors.quotaUnavailable(retryAfterUnavailableMs), headers: {} };
      // Served unchecked; usage is still recorded in storage, and the counter is seeded from it once the backend is back.
      return { ok: true, ticket: null, headers: { 'x-switchyard-quota': 'unchecked' } };
    }
    const headers = rateLimitHeaders(principal, admission);
    if (admission.allowed) return { ok: true, ticket: { keyId: principal.keyId, windowStart: admission.state.windowStart, reserved: estimatedTokens, budgetTokens: principal.budgetTokens }, headers };
    const retryAfter = Math.max(1, Math.ceil(admission.state.resetMs / 1000));
    this.#refused.inc({ key_id: principal.keyId, limit: admission.refusal });
    if (admission.refusal === 'budget') {
      this.#announceBudget(principal);
      return { ok: false, headers, error: errors.budgetExhausted(principal.budgetTokens, admission.state.usedTokens, estimatedTokens) };
    }
    const what = admission.refusal === 'rpm' ? `requests per minute (limit ${principal.rpm})` : `tokens per minute (limit ${principal.tpm})`;
    // Retry-After is written with the error, from its retryAfterMs.
    return { ok: false, headers, error: errors.rateLimited(what, retryAfter * 1000) };
  }

  /**
   * What a request cost a key (at its model's price), counted against a
   * budget in currency: added to the shared counter (Redis) or this process's,
   * and to storage at the next flush. A key whose spend reaches its budget is
   * refused from its next request on; the one that crossed it is not undone.
   */
  spend(keyId: string, cost: number): void {
    if (cost <= 0 || keyId === 'env-admin') return;
    this.#spentLocal.set(keyId, (this.#spentLocal.get(keyId) ?? 0) + cost);
    this.#pendingCost.set(keyId, (this.#pendingCost.get(keyId) ?? 0) + cost);
    if (this.#backend.addSpend !== undefined) this.#backend.addSpend(keyId, cost).catch((error: unknown) => this.#backendFailed('settle', error));
  }

  /** What this process knows a key has spent: storage's figure plus what it added since (for key listings). */
  spentHere(keyId: string, stored: number): number {
    return Math.max(stored + (this.#pendingCost.get(keyId) ?? 0), this.#spentLocal.get(keyId) ?? 0);
  }

  /** A key's spend: the shared counter when the backend keeps one, else this process's (seeded from storage). */
  async #spent(keyId: string): Promise<number | null> {
    if (this.#backend.spent === undefined) return this.#spentLocal.get(keyId) ?? 0;
    try {
      const shared = await this.#backend.spent(keyId);
      if (shared !== null) return shared;
      // The counter is gone (Redis restarted empty): storage and this process's unwritten spend seed it again.
      const row = await this.#store.get(keyId);
      const stored = Number(row?.used_cost ?? 0) + (this.#pendingCost.get(keyId) ?? 0);
      await this.#backend.seedSpend?.(keyId, stored);
      return stored;
    } catch (error) {
      this.#backendFailed('read', error);
      return this.#policy === 'closed' ? Number.POSITIVE_INFINITY : null;
    }
  }

  #announceBudget(principal: Principal): void {
    if (this.#announced.has(principal.keyId)) return;
    this.#announced.add(principal.keyId);
    this.#onBudgetExceeded(principal);
  }

  /** The response's real usage replaces the estimate (off the request path). */
  settle(ticket: QuotaTicket | null, keyId: string, actualTokens: number): void {
    this.touch(keyId, actualTokens);
    if (ticket === null) return;
    const delta = actualTokens - ticket.reserved;
    if (delta === 0) return;
    this.#backend.settle(ticket.keyId, delta, ticket.windowStart).then(
      (usedAfter) => this.#noteOvershoot(ticket, delta, usedAfter),
      (error: unknown) => this.#backendFailed('settle', error),
    );
  }

  /** A response that used more than its reservation may take a key past its budget: count and log by how much. */
  #noteOvershoot(ticket: QuotaTicket, delta: number, usedAfter: number | null): void {
    if (ticket.budgetTokens === null || usedAfter === null || delta <= 0) return;
    const over = Math.max(0, usedAfter - ticket.budgetTokens) - Math.max(0, usedAfter - delta - ticket.budgetTokens);
    if (over <= 0) return;
    this.#overshoot.inc(over);
    this.#log.warn({ key_id: ticket.keyId, budget_tokens: ticket.budgetTokens, used_tokens: usedAfter, overshoot_tokens: over }, 'a response took a key past its token budget');
  }

  /** What storage says a key used, plus what this process has counted but not yet written. */
  async #storedUsed(keyId: string): Promise<number> {
    const row = await this.#store.get(keyId);
    return Number(row?.used_tokens ?? 0) + (this.#pending.get(keyId)?.tokens ?? 0);
  }

  #backendFailed(operation: 'admit' | 'settle' | 'seed' | 'read', error: unknown): void {
    this.#backendErrors.inc({ operation, policy: this.#policy });
    if (this.#isBackendDown) return;
    this.#isBackendDown = true;
    const consequence = this.#policy === 'open' ? 'keys with limits are served unchecked' : 'keys with limits are refused with 503';
    this.#log.error({ err: error instanceof Error ? error.message : 'unknown', operation }, `quota backend unreachable: ${consequence} until it is back`);
  }

  #backendRecovered(): void {
    if (!this.#isBackendDown) return;
    this.#isBackendDown = false;
    this.#log.info('quota backend reachable again: limits are checked');
  }

  async flush(): Promise<void> {
    await this.#flushCost();
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending.entries()];
    this.#pending.clear();
    for (const [keyId, usage] of batch) {
      if (keyId === 'env-admin') continue;
      try {
        await this.#store.recordUsage(keyId, usage.tokens, new Date(usage.lastUsedAt).toISOString());
      } catch (error) {
        const pending = this.#pending.get(keyId);
        this.#pending.set(keyId, { tokens: usage.tokens + (pending?.tokens ?? 0), lastUsedAt: Math.max(pending?.lastUsedAt ?? 0, usage.lastUsedAt) });
        this.#log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'could not store key usage; will retry');
      }
    }
  }

  async #flushCost(): Promise<void> {
    if (this.#pendingCost.size === 0) return;
    const batch = [...this.#pendingCost.entries()];
    this.#pendingCost.clear();
    for (const [keyId, cost] of batch) {
      try {
        await this.#store.recordCost(keyId, cost);
      } catch (error) {
        this.#pendingCost.set(keyId, cost + (this.#pendingCost.get(keyId) ?? 0));
        this.#log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'could not store key spend; will retry');
      }
    }
  }

  /** Notes use of a key (cheap: a number per request; dates are formatted at flush). */
  touch(keyId: string, tokens: number): void {
    const pending = this.#pending.get(keyId);
    if (pending === undefined) this.#pending.set(keyId, { tokens, lastUsedAt: Date.now() });
    else {
      pending.tokens += tokens;
      pending.lastUsedAt = Date.now();
    }
  }

  /** Whether a key has any limit at all: most do not, and then nothing needs estimating or awaiting. */
  static isLimited(principal: Principal): boolean {
    return principal.rpm !== null || principal.tpm !== null || principal.budgetTokens !== null || principal.budgetCost !== null;
  }
}

function rateLimitHeaders(principal: Principal, admission: Admission): Record<string, string> {
  const headers: Record<string, string> = {};
  const reset = `${Math.max(0, Math.ceil(admission.state.resetMs / 1000))}s`;
  if (principal.rpm !== null) {
    headers['x-ratelimit-limit-requests'] = String(principal.rpm);
    headers['x-ratelimit-remaining-requests'] = String(Math.max(0, principal.rpm - admission.state.requests));
    headers['x-ratelimit-reset-requests'] = reset;
  }
  if (principal.tpm !== null) {
    headers['x-ratelimit-limit-tokens'] = String(principal.tpm);
    headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, principal.tpm - admission.state.tokens));
    headers['x-ratelimit-reset-tokens'] = reset;
  }
  return headers;
}
