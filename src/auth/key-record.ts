import type { PriorityClass } from '../data/admission/fair-queue.ts';
import type { ApiKeysTable } from '../storage/database-schema.ts';
import { readJson } from '../storage/json-column.ts';
import { scopes, type Principal, type Scope } from './key-ring.ts';

export function parseScopes(text: string): Scope[] {
  const value = readJson<unknown>(text, []);
  return Array.isArray(value) ? value.filter((item): item is Scope => (scopes as readonly unknown[]).includes(item)) : [];
}

export function principalOf(row: ApiKeysTable): Principal {
  const models = row.models === null ? null : readJson<string[]>(row.models, []);
  return {
    keyId: row.id,
    name: row.name,
    scopes: parseScopes(row.scopes),
    models,
    rpm: row.rpm === null ? null : Number(row.rpm),
    tpm: row.tpm === null ? null : Number(row.tpm),
    budgetTokens: row.budget_tokens === null ? null : Number(row.budget_tokens),
    budgetCost: row.budget_cost === null || row.budget_cost === undefined ? null : Number(row.budget_cost),
    expiresAt: row.expires_at === null ? null : Date.parse(row.expires_at),
    priority: priorityOf(row.priority),
  };
}

/** A stored priority as a class; anything unknown (an older row) is standard. */
function priorityOf(value: string | undefined): PriorityClass {
  return value === 'interactive' || value === 'batch' ? value : 'standard';
}

export type KeyStatus = 'active' | 'revoked' | 'expired' | 'budget_exhausted';

/**
 * Whether a key can be used now, in the order an operator must act on it. A
 * budget is exhausted when what was used reaches it; a key with a few tokens
 * left still serves requests small enough to fit, so it stays active.
 */
export function keyStatus(key: { revokedAt: string | null; expiresAt: string | null; budgetTokens: number | null; usedTokens: number; budgetCost?: number | null; usedCost?: number }, now: number): KeyStatus {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now) return 'expired';
  if (key.budgetTokens !== null && key.usedTokens >= key.budgetTokens) return 'budget_exhausted';
  if (key.budgetCost !== undefined && key.budgetCost !== null && (key.usedCost ?? 0) >= key.budgetCost) return 'budget_exhausted';
  return 'active';
}

/**
 * The API's view of a key: never the hash, never the key (only its first
 * characters). `liveUsedTokens` is the quota backend's count, ahead of storage's.
 */
export function toKeyRecord(row: ApiKeysTable, liveUsedTokens?: number, now = Date.now(), liveUsedCost?: number) {
  const budgetTokens = row.budget_tokens === null ? null : Number(row.budget_tokens);
  const usedTokens = liveUsedTokens ?? Number(row.used_tokens);
  const budgetCost = row.budget_cost === null || row.budget_cost === undefined ? null : Number(row.budget_cost);
  const usedCost = Math.round((liveUsedCost ?? Number(row.used_cost ?? 0)) * 1e9) / 1e9;
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: parseScopes(row.scopes),
    models: row.models === null ? null : readJson<string[]>(row.models, []),
    rpm: row.rpm === null ? null : Number(row.rpm),
    tpm: row.tpm === null ? null : Number(row.tpm),
    budget_tokens: budgetTokens,
    used_tokens: usedTokens,
    budget_cost: budgetCost,
    used_cost: usedCost,
    priority: priorityOf(row.priority),
    status: keyStatus({ revokedAt: row.revoked_at, expiresAt: row.expires_at, budgetTokens, usedTokens, budgetCost, usedCost }, now),
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    last_used_at: row.last_used_at,
    metadata: readJson<Record<string, unknown>>(row.metadata, {}),
    created_at: row.created_at,
  };
}
