import { randomBytes } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

/**
 * Ids that sort by creation time (ms, then a per-process sequence), so rows
 * created in the same millisecond keep their order: 12 hex digits of time,
 * 4 of sequence, 16 random.
 */
export function sortableId(now = Date.now()): string {
  if (now === lastMs) sequence = (sequence + 1) & 0xffff;
  else {
    lastMs = now;
    sequence = 0;
  }
  return `${now.toString(16).padStart(12, '0')}${sequence.toString(16).padStart(4, '0')}${randomBytes(8).toString('hex')}`;
}
