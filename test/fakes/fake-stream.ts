// Chunked streaming writers (SSE and NDJSON) with per-chunk delays and the
// streaming faults (drop-mid-stream, malformed-chunk, endless-event,
// hang-after-headers) applied on the wire.
import type { ServerResponse } from 'node:http';
import type { Fault } from './fake-server.ts';
import { once } from 'node:events';
import { sleep } from './fake-util.ts';

/** Thrown inside handlers when the stream can no longer be written (client gone or fault drop). */
export class StreamClosedError extends Error {
  constructor(message = 'stream closed') {
    super(message);
    this.name = 'StreamClosedError';
  }
}

export type Framing = 'sse' | 'ndjson';

export interface ChunkStreamOptions {
  framing: Framing;
  tokenIntervalMs: number;
  /** The active fault for this request (only the streaming kinds matter here). */
  fault: Fault;
  signal: AbortSignal;
  /** Destroys the connection from the server side (recorded as not a client abort). */
  drop: () => void;
}

/** Formats one SSE event: `data: <payload>\n\n`. */
export function sseEvent(data: string): string {
  return `data: ${data}\n\n`;
}

/** Formats one NDJSON line. */
export function ndjsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

const MALFORMED: Record<Framing, string> = {
  sse: sseEvent('{"id":"chatcmpl-broken","choices":[{"delta":{"content":'),
  ndjson: '{"model":"broken","message":{"role":"assistant","content":\n',
};

/** The start of an event that `endless-event` never finishes. */
const ENDLESS_OPENING: Record<Framing, string> = {
  sse: 'data: {"id":"chatcmpl-endless","choices":[{"delta":{"content":"',
  ndjson: '{"model":"endless","message":{"role":"assistant","content":"',
};
const ENDLESS_PADDING = 'x'.repeat(16 * 1024);

/**
 * Writes JSON chunks one by one, sleeping `tokenIntervalMs` between chunks.
 * Headers must already be sent (see RequestContext.stream).
 */
export class ChunkStream {
  readonly framing: Framing;
  private readonly res: ServerResponse;
  private readonly options: ChunkStreamOptions;
  private sent = 0;
  private malformedSent = false;

  constructor(res: ServerResponse, options: ChunkStreamOptions) {
    this.res = res;
    this.options = options;
    this.framing = options.framing;
  }

  /** Number of good chunks written so far. */
  get chunksSent(): number {
    return this.sent;
  }

  /** Sends one JSON chunk (SSE `data:` event or NDJSON line). */
  async send(payload: unknown): Promise<void> {
    if (this.sent > 0) await sleep(this.options.tokenIntervalMs, this.options.signal);
    await this.applyStall();
    this.applyFault();
    const text = JSON.stringify(payload);
    this.write(this.framing === 'sse' ? sseEvent(text) : `${text}\n`);
    this.sent++;
  }

  /** Sends one named SSE event (`event:` then `data:`), as Anthropic's and the Responses API's streams are framed. */
  async sendEvent(name: string, payload: unknown): Promise<void> {
    if (this.sent > 0) await sleep(this.options.tokenIntervalMs, this.options.signal);
    await this.applyStall();
    this.applyFault();
    this.write(`event: ${name}\n${sseEvent(JSON.stringify(payload))}`);
    this.sent++;
  }

  /** Ends the stream; SSE streams get `data: [DONE]` unless `withDoneMarker` is false. */
  async finish(withDoneMarker = true): Promise<void> {
    await this.applyStall(true);
    this.applyFault(true);
    if (this.framing === 'sse' && withDoneMarker) {
      if (this.sent > 0) await sleep(this.options.tokenIntervalMs, this.options.signal);
      this.write(sseEvent('[DONE]'));
    }
    this.ensureOpen();
    this.res.end();
  }

  private applyFault(atEnd = false): void {
    this.ensureOpen();
    const fault = this.options.fault;
    if (fault.kind === 'drop-mid-stream' && (this.sent >= fault.afterChunks || atEnd)) {
      this.options.drop();
      throw new StreamClosedError('dropped by drop-mid-stream fault');
    }
    if (fault.kind === 'malformed-chunk' && !this.malformedSent && (this.sent >= fault.afterChunks || atEnd)) {
      this.malformedSent = true;
      this.write(MALFORMED[this.framing]);
    }
  }

  /** The faults that keep the connection open without finishing: they end only when the client hangs up. */
  private async applyStall(atEnd = false): Promise<void> {
    const fault = this.options.fault;
    if (fault.kind === 'hang-after-headers') {
      if (!this.options.signal.aborted) await once(this.options.signal, 'abort');
      throw new StreamClosedError('client left a hang-after-headers stream');
    }
    if (fault.kind === 'endless-event' && (this.sent >= fault.afterChunks || atEnd)) {
      this.write(ENDLESS_OPENING[this.framing]);
      // No event boundary ever: padding as fast as the client reads it.
      while (!this.options.signal.aborted && !this.res.destroyed) {
        if (!this.res.write(ENDLESS_PADDING)) await once(this.res, 'drain', { signal: this.options.signal }).catch(() => undefined);
      }
      throw new StreamClosedError('client left an endless event');
    }
  }

  private ensureOpen(): void {
    if (this.options.signal.aborted || this.res.destroyed) throw new StreamClosedError();
  }

  private write(text: string): void {
    this.ensureOpen();
    this.res.write(text);
  }
}
