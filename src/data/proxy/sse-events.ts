import { lastEventEnd } from './sse-boundary.ts';

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const dataField = Buffer.from('data:');

/** What the relay has seen of a stream so far (one per stream, updated in place). */
export interface EventTally {
  /** Events with data: the token estimate when a server reports no usage. */
  events: number;
}

/**
 * Counts the events in `bytes` (whole events, as SseBoundary hands them on)
 * and checks each one's data cheaply: it must look like a JSON object or
 * array (first and last non-blank bytes `{…}` or `[…]`, so `[DONE]` passes)
 * without being parsed. Data split over several `data:` lines is one event
 * (SSE joins the lines), checked at its first and last byte. An event with
 * empty data is ignored, as SSE clients ignore it.
 *
 * Returns where the first event that fails the check starts (so the events
 * before it can still be forwarded), or -1 when every event passes.
 */
export function scanEvents(bytes: Buffer, tally: EventTally): number {
  let index = bytes.indexOf(dataField);
  while (index !== -1) {
    if (index !== 0 && bytes[index - 1] !== LF && bytes[index - 1] !== CR) {
      index = bytes.indexOf(dataField, index + dataField.length);
      continue;
    }
    const eventData = index;
    let lineEnd = endOfLine(bytes, index);
    const opening = firstPayloadByte(bytes, index + dataField.length, lineEnd);
    while (isDataLine(bytes, lineEnd + 1)) {
      index = lineEnd + 1;
      lineEnd = endOfLine(bytes, index);
    }
    const closing = lastPayloadByte(bytes, index + dataField.length, lineEnd);
    if (opening !== -1 || closing !== -1) {
      if (!((opening === 0x7b && closing === 0x7d) || (opening === 0x5b && closing === 0x5d))) return lastEventEnd(bytes.subarray(0, eventData)); // where the bad event starts
      tally.events++;
    }
    index = bytes.indexOf(dataField, lineEnd);
  }
  return -1;
}

function endOfLine(bytes: Buffer, from: number): number {
  const end = bytes.indexOf(LF, from);
  return end === -1 ? bytes.length : end;
}

function isDataLine(bytes: Buffer, at: number): boolean {
  if (at + dataField.length > bytes.length) return false;
  for (let offset = 0; offset < dataField.length; offset++) if (bytes[at + offset] !== dataField[offset]) return false;
  return true;
}

function isBlank(byte: number | undefined): boolean {
  return byte === SPACE || byte === TAB || byte === CR;
}

function firstPayloadByte(bytes: Buffer, from: number, end: number): number {
  let at = from;
  while (at < end && isBlank(bytes[at])) at++;
  return at < end ? (bytes[at] as number) : -1;
}

function lastPayloadByte(bytes: Buffer, from: number, end: number): number {
  let at = end - 1;
  while (at >= from && isBlank(bytes[at])) at--;
  return at >= from ? (bytes[at] as number) : -1;
}
