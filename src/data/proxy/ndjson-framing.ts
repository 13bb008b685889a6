import { errors } from '../../errors/error-catalogue.ts';
import { errorBody } from '../../errors/error-reply.ts';
import type { TokenUsage } from '../adapters/server-kind-module.ts';
import type { EventTally } from './sse-events.ts';
import type { EventBoundary, StreamFraming } from './stream-framing.ts';

const LF = 0x0a;

/** Whole lines only (the tail waits for its newline), with the held tail capped like an SSE event. */
export class LineBoundary implements EventBoundary {
  readonly #maxLineBytes: number;
  #held: Buffer | null = null;

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  push(chunk: Buffer): Buffer {
    const joined = this.#held === null ? chunk : Buffer.concat([this.#held, chunk]);
    const end = joined.lastIndexOf(LF) + 1;
    this.#held = end === joined.length ? null : joined.subarray(end);
    if (this.#held !== null && this.#held.length > this.#maxLineBytes) {
      this.#held = null;
      throw errors.upstreamEventTooLarge(this.#maxLineBytes);
    }
    return end === 0 ? empty : end === joined.length ? joined : joined.subarray(0, end);
  }

  flush(): Buffer | null {
    const rest = this.#held;
    this.#held = null;
    return rest;
  }
}

const empty = Buffer.alloc(0);

/** Every non-blank line must look like a JSON object; returns where the first that does not starts, or -1. */
export function scanLines(bytes: Buffer, tally: EventTally): number {
  let start = 0;
  while (start < bytes.length) {
    const newline = bytes.indexOf(LF, start);
    const end = newline === -1 ? bytes.length : newline;
    const line = bytes.subarray(start, end).toString('utf8').trim();
    if (line !== '') {
      if (!(line.startsWith('{') && line.endsWith('}'))) return start;
      tally.events++;
    }
    start = end + 1;
  }
  return -1;
}

/** Ollama's last line (`"done":true`) carries prompt_eval_count and eval_count. */
export function ollamaLineUsage(bytes: Buffer): TokenUsage | null {
  if (!bytes.includes('"done":true')) return null;
  const lines = bytes.toString('utf8').trim().split('\n');
  for (let index = lines.length - 1; index >= 0; index--) {
    try {
      const line = JSON.parse(lines[index] as string) as Record<string, unknown>;
      if (line['done'] !== true) continue;
      return { promptTokens: numberOr0(line['prompt_eval_count']), completionTokens: numberOr0(line['eval_count']) };
    } catch {
      // not this line
    }
  }
  return null;
}

function numberOr0(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** Ollama's own stream, passed through: one JSON object a line; a break ends it with an `{"error": …}` line, as Ollama does. */
export const ollamaNdjsonFraming: StreamFraming = {
  contentType: 'application/x-ndjson',
  boundary: (maxEventBytes) => new LineBoundary(maxEventBytes),
  scan: scanLines,
  usage: ollamaLineUsage,
  errorEvent: (error) => `${errorBody(error, 'ollama')}\n`,
};
