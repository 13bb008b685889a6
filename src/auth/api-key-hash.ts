import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

export const keyPrefix = 'sk-sy-';

/** A new Switchyard key: `sk-sy-` and 32 random bytes, base64url. */
export function generateApiKey(): string {
  return `${keyPrefix}${randomBytes(32).toString('base64url')}`;
}

/**
 * Keyed hash (HMAC-SHA256) of an API key. Keyed so a stolen database alone
 * does not allow offline guessing; keys are random, so no slow hash is needed.
 */
export function hashApiKey(hashKey: Buffer | KeyObject, apiKey: string): string {
  return hmacApiKey(hashKey, apiKey).toString('hex');
}

/** The same keyed hash as bytes (authentication compares these without a hex round trip). */
export function hmacApiKey(hashKey: Buffer | KeyObject, apiKey: string): Buffer {
  return createHmac('sha256', hashKey).update(apiKey, 'utf8').digest();
}

/** Imported once: handing createHmac a raw Buffer re-imports the key on every call. */
export function hashKeyObject(hashKey: Buffer): KeyObject {
  return createSecretKey(hashKey);
}

/** What may be shown of a key: its first characters. */
export function displayPrefix(apiKey: string): string {
  return apiKey.slice(0, keyPrefix.length + 4);
}
