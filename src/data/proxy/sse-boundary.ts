import { errors } from '../../errors/error-catalogue.ts';

const LF = 0x0a;
const CR = 0x0d;
const empty = Buffer.alloc(0);

/**
 * Forwards SSE bytes as they come, but only whole events: a chunk that ends
 * mid-event keeps its tail until the rest arrives. So an error event we must
 * append after a broken upstream never lands inside a half-written one, and
 * chunks that end on an event boundary (nearly all) pass through uncopied.
 *
 * Each byte is scanned for a boundary once (only the new chunk, plus the
 * three bytes where it meets the held tail), and the held tail is capped: an
 * upstream that never ends an event costs at most `maxEventBytes` of memory
 * and linear work, then an upstream protocol error (thrown from `push`).
 */
export class SseBoundary {
  readonly #maxEventBytes: number;
  /** Storage for the incomplete event; its first #pendingLength bytes are valid. Grows by doubling. */
  #pending: Buffer | null = null;
  #pendingLength = 0;

  constructor(maxEventBytes = 1024 * 1024) {
    this.#maxEventBytes = maxEventBytes;
  }

  /** The bytes that can be forwarded now (possibly empty). Throws when an event outgrows the cap. */
  push(chunk: Buffer): Buffer {
    let end = lastEventEnd(chunk);
    if (end === 0 && this.#pendingLength > 0) end = this.#boundaryAcrossJoin(chunk);
    if (end === 0) {
      this.#hold(chunk);
      return empty;
    }
    let ready: Buffer;
    if (this.#pendingLength === 0) {
      ready = end === chunk.length ? chunk : chunk.subarray(0, end);
    } else {
      ready = Buffer.concat([(this.#pending as Buffer).subarray(0, this.#pendingLength), chunk.subarray(0, end)]);
      this.#pendingLength = 0;
    }
    if (end < chunk.length) this.#hold(chunk.subarray(end));
    return ready;
  }

  /** Whatever is left at a clean end of stream. */
  flush(): Buffer | null {
    if (this.#pendingLength === 0) return null;
    const rest = Buffer.from((this.#pending as Buffer).subarray(0, this.#pendingLength));
    this.#pendingLength = 0;
    return rest;
  }

  get hasPartialEvent(): boolean {
    return this.#pendingLength > 0;
  }

  #hold(bytes: Buffer): void {
    const needed = this.#pendingLength + bytes.length;
    if (needed > this.#maxEventBytes) {
      this.#pending = null;
      this.#pendingLength = 0;
      throw errors.upstreamEventTooLarge(this.#maxEventBytes);
    }
    if (this.#pending === null || this.#pending.length < needed) {
      const grown = Buffer.allocUnsafe(Math.min(this.#maxEventBytes, Math.max(needed, 2 * (this.#pending?.length ?? 0), 4096)));
      this.#pending?.copy(grown, 0, 0, this.#pendingLength);
      this.#pending = grown;
    }
    bytes.copy(this.#pending, this.#pendingLength);
    this.#pendingLength = needed;
  }

  /** A blank line split between the held tail and the new chunk: the index in `chunk` just past it, else 0. */
  #boundaryAcrossJoin(chunk: Buffer): number {
    const held = this.#pending as Buffer;
    const length = this.#pendingLength;
    const fromEnd = (offset: number): number => (offset <= length ? (held[length - offset] as number) : -1);
    if (chunk[0] === LF && (fromEnd(1) === LF || (fromEnd(1) === CR && fromEnd(2) === LF && fromEnd(3) === CR))) return 1;
    if (chunk[0] === CR && chunk[1] === LF && fromEnd(1) === LF && fromEnd(2) === CR) return 2;
    if (chunk[0] === LF && chunk[1] === CR && chunk[2] === LF && fromEnd(1) === CR) return 3;
    return 0;
  }
}

const lfBlankLine = Buffer.from('\n\n');
const crlfBlankLine = Buffer.from('\r\n\r\n');

/** Index just past the last blank line (`\n\n` or `\r\n\r\n`) in `data`, 0 if none. */
export function lastEventEnd(data: Buffer): number {
  const length = data.length;
  // Nearly every chunk from an OpenAI-style server ends exactly on `\n\n`: two byte reads instead of two searches.
  if (length >= 2 && data[length - 1] === LF && data[length - 2] === LF) return length;
  const lf = data.lastIndexOf(lfBlankLine);
  const crlf = data.lastIndexOf(crlfBlankLine);
  return Math.max(lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 4);
}
