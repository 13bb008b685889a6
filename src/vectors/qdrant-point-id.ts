import { createHash } from 'node:crypto';

/**
 * Qdrant point ids are unsigned integers or UUIDs; ours are any string. A
 * name-based UUID (RFC 9562 version 5: SHA-1 of a namespace and the name) is
 * the same on every replica and every run, so an upsert of an id replaces
 * its point without a lookup table. The original id travels in the payload.
 */
const namespace = Buffer.from('8f6f6a4e1d7b4c2a9e3b5d0c7a1f2e64', 'hex'); // Switchyard's own, fixed for ever

export function qdrantPointId(id: string): string {
  const digest = createHash('sha1').update(namespace).update(id, 'utf8').digest();
  digest[6] = (digest[6]! & 0x0f) | 0x50; // version 5
  digest[8] = (digest[8]! & 0x3f) | 0x80; // RFC variant
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
