import { timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { hashApiKey, hashKeyObject } from './api-key-hash.ts';

export const scopes = ['admin', 'inference', 'read'] as const;
export type Scope = (typeof scopes)[number];

/** Who made a request. */
export interface Principal {
  keyId: string;
  name: string;
  scopes: Scope[];
}

interface KeyEntry {
  hash: Buffer;
  principal: Principal;
}

// Longer than any key we issue; anything beyond is rejected before hashing.
const maxKeyLength = 512;

/**
 * Keys in memory, looked up by keyed hash: authentication never awaits
 * storage. Refreshed from the store when keys change.
 */
export class KeyRing {
  readonly #hashKey: KeyObject;
  #entries = new Map<string, KeyEntry>();

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
  }

  add(hash: string, principal: Principal): void {
    this.#entries.set(hash, { hash: Buffer.from(hash, 'hex'), principal });
  }

  authenticate(apiKey: string): Principal | null {
    if (apiKey.length === 0 || apiKey.length > maxKeyLength) return null;
    const hash = this.hash(apiKey);
    const entry = this.#entries.get(hash);
    if (entry === undefined) return null;
    return timingSafeEqual(entry.hash, Buffer.from(hash, 'hex')) ? entry.principal : null;
  }

  get size(): number {
    return this.#entries.size;
  }
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope);
}
