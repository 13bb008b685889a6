/**
 * Forwards SSE bytes as they come, but only whole events: a chunk that ends
 * mid-event keeps its tail until the rest arrives. So an error event we must
 * append after a broken upstream never lands inside a half-written one, and
 * chunks that end on an event boundary (nearly all) pass through uncopied.
 */
export class SseBoundary {
  #pending: Buffer | null = null;

  /** The bytes that can be forwarded now (possibly empty). */
  push(chunk: Buffer): Buffer {
    const data = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    const end = lastEventEnd(data);
    if (end === data.length) {
      this.#pending = null;
      return data;
    }
    this.#pending = end === data.length ? null : data.subarray(end);
    return data.subarray(0, end);
  }

  /** Whatever is left at a clean end of stream. */
  flush(): Buffer | null {
    const rest = this.#pending;
    this.#pending = null;
    return rest;
  }

  get hasPartialEvent(): boolean {
    return this.#pending !== null && this.#pending.length > 0;
  }
}

/** Index just past the last blank line (`\n\n` or `\r\n\r\n`), 0 if none. */
function lastEventEnd(data: Buffer): number {
  const lf = data.lastIndexOf('\n\n');
  const crlf = data.lastIndexOf('\r\n\r\n');
  const end = Math.max(lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 4);
  return end;
}
