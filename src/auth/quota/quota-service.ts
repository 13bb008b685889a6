import type { FastifyBaseLogger } from 'fastify';
import type { AppError } from '../../errors/app-error.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { ApiKeyStore } from '../../storage/api-key-store.ts';
import type { Principal } from '../key-ring.ts';
import { windowStartOf, type Admission, type QuotaBackend } from './quota-backend.ts';

export interface QuotaTicket {
  keyId: string;
  windowStart: number;
  reserved: number;
}

export type QuotaDecision = { ok: true; ticket: QuotaTicket | null; headers: Record<string, string> } | { ok: false; error: AppError; headers: Record<string, string> };

const flushEveryMs = 1_000;

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
  readonly #pending = new Map<string, { tokens: number; lastUsedAt: number }>();
  readonly #announced = new Set<string>();
  #timer: NodeJS.Timeout | null = null;

  constructor(options: { backend: QuotaBackend; store: ApiKeyStore; log: FastifyBaseLogger; onBudgetExceeded?: (principal: Principal) => void }) {
    this.#backend = options.backend;
    this.#store = options.store;
    this.#log = options.log;
    this.#onBudgetExceeded = options.onBudgetExceeded ?? (() => undefined);
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

  async seed(keys: Array<{ keyId: string; usedTokens: number }>): Promise<void> {
    for (const key of keys) if (key.usedTokens > 0) await this.#backend.seedUsed(key.keyId, key.usedTokens);
  }

  usedTokens(keyId: string): Promise<number> {
    return this.#backend.usedTokens(keyId);
  }

  async admit(principal: Principal, estimatedTokens: number, now = Date.now()): Promise<QuotaDecision> {
    this.touch(principal.keyId, 0);
    if (!QuotaService.isLimited(principal)) return { ok: true, ticket: null, headers: {} };
    const admission = await this.#backend.admit(
      { keyId: principal.keyId, rpm: principal.rpm, tpm: principal.tpm, budgetTokens: principal.budgetTokens },
      estimatedTokens,
      now,
    );
    const headers = rateLimitHeaders(principal, admission);
    if (admission.allowed) return { ok: true, ticket: { keyId: principal.keyId, windowStart: windowStartOf(now), reserved: estimatedTokens }, headers };
    const retryAfter = Math.max(1, Math.ceil(admission.state.resetMs / 1000));
    if (admission.refusal === 'budget') {
      if (!this.#announced.has(principal.keyId)) {
        this.#announced.add(principal.keyId);
        this.#onBudgetExceeded(principal);
      }
      return { ok: false, headers, error: errors.budgetExhausted(principal.budgetTokens, admission.state.usedTokens) };
    }
    const what = admission.refusal === 'rpm' ? `requests per minute (limit ${principal.rpm})` : `tokens per minute (limit ${principal.tpm})`;
    // Retry-After is written with the error, from its retryAfterMs.
    return { ok: false, headers, error: errors.rateLimited(what, retryAfter * 1000) };
  }

  /** The response's real usage replaces the estimate (off the request path). */
  settle(ticket: QuotaTicket | null, keyId: string, actualTokens: number): void {
    this.touch(keyId, actualTokens);
    if (ticket === null) return;
    const delta = actualTokens - ticket.reserved;
    if (delta !== 0) {
      this.#backend.settle(ticket.keyId, delta, ticket.windowStart).catch((error: unknown) => {
        this.#log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'could not settle token usage');
      });
    }
  }

  async flush(): Promise<void> {
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
    return principal.rpm !== null || principal.tpm !== null || principal.budgetTokens !== null;
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
