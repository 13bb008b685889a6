import { randomBytes } from 'node:crypto';

let lastMs = 0;
let sequence = 0;
// Ids need uniqueness, not secrecy: one random prefix per process, then a counter.
const processPart = randomBytes(4).toString('hex');
let counter = 0;

/**
 * Ids that sort by creation time (ms, then a per-process sequence), so rows
 * created in the same millisecond keep their order: 12 hex digits of time,
 * 4 of sequence, 8 of a per-process random prefix, 8 of a counter.
 */
export function sortableId(now = Date.now()): string {
  if (now === lastMs) sequence = (sequence + 1) & 0xffff;
  else {
    lastMs = now;
    sequence = 0;
  }
  counter = (counter + 1) >>> 0;
  return `${now.toString(16).padStart(12, '0')}${sequence.toString(16).padStart(4, '0')}${processPart}${counter.toString(16).padStart(8, '0')}`;
}
