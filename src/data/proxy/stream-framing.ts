import type { AppError } from '../../errors/app-error.ts';
import { streamErrorEvent, type ErrorShape } from '../../errors/error-reply.ts';
import type { TokenUsage } from '../adapters/server-kind-module.ts';
import { usageIn } from './answer-bytes.ts';
import { SseBoundary } from './sse-boundary.ts';
import { scanEvents, type EventTally } from './sse-events.ts';

/** Cuts a byte stream into whole events: what can be passed on now, and what is left at the end. */
export interface EventBoundary {
  push(chunk: Buffer): Buffer;
  flush(): Buffer | null;
}

/**
 * How a streamed answer is framed on the wire: OpenAI's SSE (nearly every
 * server), or newline-delimited JSON (Ollama's native API, passed through
 * untouched to Ollama's own clients). The relay is the same for both.
 */
export interface StreamFraming {
  readonly contentType: string;
  boundary(maxEventBytes: number): EventBoundary;
  /** Counts events and checks each is JSON; where the first bad one starts, or -1. */
  scan(bytes: Buffer, tally: EventTally): number;
  /** The server's token counts when these events carry them, else null (looked for cheaply first). */
  usage(bytes: Buffer): TokenUsage | null;
  /** The last event of a stream that broke after it started, in the caller's error shape. */
  errorEvent(error: AppError, shape: ErrorShape): string;
}

export const sseFraming: StreamFraming = {
  contentType: 'text/event-stream; charset=utf-8',
  boundary: (maxEventBytes) => new SseBoundary(maxEventBytes),
  scan: scanEvents,
  // The usage chunk (stream_options.include_usage) comes last: look only where it can be.
  usage: (bytes) => (bytes.includes('"completion_tokens"') ? usageIn(bytes) : null),
  errorEvent: streamErrorEvent,
};
