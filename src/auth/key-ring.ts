import type { PriorityClass } from '../data/admission/fair-queue.ts';
import { timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { hashApiKey, hashKeyObject, hmacApiKey } from './api-key-hash.ts';

/** `vectors:write`: store and delete vectors, create, delete and re-embed collections (admin may too). */
export const scopes = ['admin', 'inference', 'read', 'vectors:write'] as const;
export type Scope = (typeof scopes)[number];

/** Who made a request, with the limits that apply to them. */
export interface Principal {
  keyId: string;
  name: string;
  scopes: Scope[];
  /** Model names or globs (`llama*`) this key may use; null means all. */
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  budgetTokens: number | null;
  /** In the gateway's currency. */
  budgetCost: number | null;
  /** Epoch ms; null means never. */
  expiresAt: number | null;
  /** Its class in the admission queues (weighted fair queueing between keys). */
  priority: PriorityClass;
}

interface KeyEntry {
  hash: Buffer;
  principal: Principal;
}

/** A principal for keys that carry no limits (the bootstrap and environment admin keys). */
export function unlimited(keyId: string, name: string, scopesGiven: Scope[]): Principal {
  return { keyId, name, scopes: scopesGiven, models: null, rpm: null, tpm: null, budgetTokens: null, budgetCost: null, expiresAt: null, priority: 'standard' };
}

// Longer than any key we issue; anything beyond is rejected before hashing.
const maxKeyLength = 512;
// Only keys that authenticated are remembered, so this holds one string per key in use; the cap
// is a guard should that ever stop being true.
const maxRemembered = 10_000;

/**
 * Keys in memory, looked up by keyed hash: authentication never awaits
 * storage. Refreshed from the store when keys change.
 */
export class KeyRing {
  readonly #hashKey: KeyObject;
  #entries = new Map<string, KeyEntry>();
  /**
   * Keys that authenticated, as presented, to their entry (decision 0036): an HMAC costs 80 µs when
   * the process has been idle for a few milliseconds (its caches cold, as between real requests), a
   * map lookup a few. Emptied on every change to the set of keys; expiry is still checked each time.
   */
  #remembered = new Map<string, KeyEntry>();

  constructor(hashKey: Buffer) {
    this.#hashKey = hashKeyObject(hashKey);
  }

  hash(apiKey: string): string {
    return hashApiKey(this.#hashKey, apiKey);
  }

  /** Replaces the set of known keys (hashes, hex). */
  replace(keys: Array<{ hash: string; principal: Principal }>): void {
    const next = new Map<string, KeyEntry>();
    for (const key of keys) next.set(key.hash, { hash: Buffer.from(key.hash, 'hex'), principal: key.principal });
    this.#entries = next;
    this.#remembered.clear();
  }

  /**
   * Replaces every stored key (`storedIds`) with the `active` ones, keeping
   * the keys that live in memory only (SWITCHYARD_ADMIN_KEY's, a benchmark's).
   */
  replaceStored(storedIds: ReadonlySet<string>, active: Array<{ hash: string; principal: Principal }>): void {
    const next = new Map<string, KeyEntry>();
    for (const [hash, entry] of this.#entries) if (!storedIds.has(entry.principal.keyId)) next.set(hash, entry);
    for (const key of active) next.set(key.hash, { hash: Buffer.from(key.hash, 'hex'), principal: key.principal });
    this.#entries = next;
    this.#remembered.clear();
  }

  add(hash: string, principal: Principal): void {
    this.#entries.set(hash, { hash: Buffer.from(hash, 'hex'), principal });
    this.#remembered.clear();
  }

  /** Forgets a key at once (revoked, rotated): the next request with it gets 401. */
  removeKey(keyId: string): void {
    for (const [hash, entry] of this.#entries) if (entry.principal.keyId === keyId) this.#entries.delete(hash);
    this.#remembered.clear();
  }

  /** Updates a key's limits or scopes in place; its hash is unchanged. */
  updatePrincipal(principal: Principal): void {
    for (const entry of this.#entries.values()) if (entry.principal.keyId === principal.keyId) entry.principal = principal;
  }

  authenticate(apiKey: string): Principal | null {
    // A hit needs the whole key as it was presented before; any other string takes the HMAC path.
    const remembered = this.#remembered.get(apiKey);
    if (remembered !== undefined) return isExpired(remembered.principal) ? null : remembered.principal;
    if (apiKey.length === 0 || apiKey.length > maxKeyLength) return null;
    // One digest, used as bytes for the constant-time compare and as hex for the lookup.
    const digest = hmacApiKey(this.#hashKey, apiKey);
    const entry = this.#entries.get(digest.toString('hex'));
    if (entry === undefined || isExpired(entry.principal) || !timingSafeEqual(entry.hash, digest)) return null;
    if (this.#remembered.size >= maxRemembered) this.#remembered.clear();
    this.#remembered.set(apiKey, entry);
    return entry.principal;
  }

  /** How many presented keys are remembered (tests). */
  get rememberedCount(): number {
    return this.#remembered.size;
  }

  /** The principal of a key still known (not revoked); expired keys count as unknown. */
  principalById(keyId: string): Principal | null {
    for (const entry of this.#entries.values()) {
      if (entry.principal.keyId !== keyId) continue;
      const expiresAt = entry.principal.expiresAt;
      return expiresAt !== null && expiresAt <= Date.now() ? null : entry.principal;
    }
    return null;
  }

  /** Every known principal once (for metrics such as budget use). */
  principals(): Principal[] {
    return [...new Map([...this.#entries.values()].map((entry) => [entry.principal.keyId, entry.principal])).values()];
  }

}

function isExpired(principal: Principal): boolean {
  return principal.expiresAt !== null && principal.expiresAt <= Date.now();
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope);
}
