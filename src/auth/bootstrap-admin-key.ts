import { randomUUID } from 'node:crypto';
import type { ApiKeyStore } from '../storage/api-key-store.ts';
import { displayPrefix, generateApiKey } from './api-key-hash.ts';
import { unlimited, type KeyRing, type Principal } from './key-ring.ts';
import { parseScopes, principalOf } from './key-record.ts';

/** The key set by SWITCHYARD_ADMIN_KEY has no stored record; it goes by this id (and the variable's name). */
export const environmentAdminKeyId = 'env-admin';

export interface BootstrapResult {
  /** Set only when a key was generated now: shown once on the console, never logged. */
  generatedKey: string | null;
  source: 'SWITCHYARD_ADMIN_KEY' | 'stored' | 'generated';
}

/**
 * Loads stored keys into the ring and makes sure an admin can get in: the key
 * from SWITCHYARD_ADMIN_KEY when set, else a stored admin key, else a new one
 * generated now and stored hashed.
 */
export async function bootstrapKeys(store: ApiKeyStore, ring: KeyRing, environmentKey: string | undefined): Promise<BootstrapResult> {
  const now = new Date().toISOString();
  const rows = await store.listActive(now);
  ring.replace(rows.map((row) => ({ hash: row.key_hash, principal: principalOf(row) })));
  if (environmentKey !== undefined) {
    ring.add(ring.hash(environmentKey), unlimited(environmentAdminKeyId, 'SWITCHYARD_ADMIN_KEY', ['admin']));
    return { generatedKey: null, source: 'SWITCHYARD_ADMIN_KEY' };
  }
  if (rows.some((row) => parseScopes(row.scopes).includes('admin'))) return { generatedKey: null, source: 'stored' };

  const key = generateApiKey();
  const principal: Principal = unlimited(randomUUID(), 'bootstrap admin', ['admin']);
  const hash = ring.hash(key);
  await store.insert({
    id: principal.keyId,
    name: principal.name,
    key_hash: hash,
    prefix: displayPrefix(key),
    scopes: JSON.stringify(principal.scopes),
    models: null,
    rpm: null,
    tpm: null,
    budget_tokens: null,
    used_tokens: 0,
    budget_cost: null,
    used_cost: 0,
    priority: 'standard',
    expires_at: null,
    revoked_at: null,
    last_used_at: null,
    metadata: JSON.stringify({ created_by: 'first start' }),
    created_at: now,
  });
  ring.add(hash, principal);
  return { generatedKey: key, source: 'generated' };
}
