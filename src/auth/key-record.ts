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
    expiresAt: row.expires_at === null ? null : Date.parse(row.expires_at),
  };
}

/** The API's view of a key: never the hash, never the key (only its first characters). */
export function toKeyRecord(row: ApiKeysTable, liveUsedTokens?: number) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: parseScopes(row.scopes),
    models: row.models === null ? null : readJson<string[]>(row.models, []),
    rpm: row.rpm === null ? null : Number(row.rpm),
    tpm: row.tpm === null ? null : Number(row.tpm),
    budget_tokens: row.budget_tokens === null ? null : Number(row.budget_tokens),
    used_tokens: liveUsedTokens ?? Number(row.used_tokens),
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    last_used_at: row.last_used_at,
    metadata: readJson<Record<string, unknown>>(row.metadata, {}),
    created_at: row.created_at,
  };
}
