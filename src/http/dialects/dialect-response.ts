import { EventEmitter } from 'node:events';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { eventData } from '../../data/proxy/translated-events.ts';
import type { AnswerMeta, ClientDialect, DialectStream, StreamFailure } from './client-dialect.ts';

/**
 * What the proxy writes to for a caller that speaks another API: the parts of
 * ServerResponse the proxy, the stream relay and the cache replay use,
 * forwarding to the caller's real response and translating on the way.
 *
 * - A 2xx stream (SSE from the relay, whole events per write) is translated
 *   event by event as it is written: nothing is held back.
 * - A 2xx JSON answer is held for the one `end()` that follows its head, then
 *   translated whole (with its new length).
 * - An error answer passes untouched: the proxy wrote it in the caller's error
 *   shape already. A native answer (a server that speaks the caller's API)
 *   passes untouched too: `setNative` says so before each attempt.
 */
export class DialectResponse extends EventEmitter {
  readonly #real: ServerResponse;
  readonly #dialect: ClientDialect;
  #isNative = false;
  #stream: DialectStream | null = null;
  #heldHead: { status: number; headers: OutgoingHttpHeaders } | null = null;

  constructor(real: ServerResponse, dialect: ClientDialect) {
    super();
    this.#real = real;
    this.#dialect = dialect;
    real.on('close', () => this.emit('close'));
    real.on('drain', () => this.emit('drain'));
  }

  /** The next answer is the server's own, in the caller's API: relayed untouched. */
  setNative(isNative: boolean): void {
    this.#isNative = isNative;
  }

  /** True while the answer being written is a native one. */
  get isNative(): boolean {
    return this.#isNative;
  }

  get headersSent(): boolean {
    return this.#heldHead !== null || this.#real.headersSent;
  }

  get statusCode(): number {
    return this.#heldHead?.status ?? this.#real.statusCode;
  }

  get destroyed(): boolean {
    return this.#real.destroyed;
  }

  get writableEnded(): boolean {
    return this.#real.writableEnded;
  }

  get writableFinished(): boolean {
    return this.#real.writableFinished;
  }

  writeHead(status: number, headers: OutgoingHttpHeaders = {}): this {
    if (this.#isNative || status < 200 || status >= 300) {
      this.#real.writeHead(status, headers);
      return this;
    }
    const type = headers['content-type'];
    if (typeof type === 'string' && type.startsWith('text/event-stream')) {
      this.#stream = this.#dialect.stream(metaOf(headers));
      this.#real.writeHead(status, { ...headers, 'content-type': this.#stream.contentType });
    } else {
      this.#heldHead = { status, headers };
    }
    return this;
  }

  write(chunk: Buffer | string): boolean {
    if (this.#stream === null) return this.#real.write(chunk);
    const out = this.#translate(chunk);
    return out === '' ? true : this.#real.write(out);
  }

  end(chunk?: Buffer | string): this {
    const held = this.#heldHead;
    if (held !== null) {
      this.#heldHead = null;
      const body = this.#answer(chunk, metaOf(held.headers));
      this.#real.writeHead(held.status, { ...held.headers, 'content-type': body.type, 'content-length': Buffer.byteLength(body.bytes) });
      this.#real.end(body.bytes);
    } else if (this.#stream !== null) {
      this.#real.end(chunk === undefined ? '' : this.#translate(chunk));
    } else {
      this.#real.end(chunk);
    }
    return this;
  }

  #answer(chunk: Buffer | string | undefined, meta: AnswerMeta): { bytes: Buffer | string; type: string } {
    const text = chunk === undefined ? '' : chunk.toString();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // The proxy checked it was JSON; anything else goes on as it is.
      return { bytes: text, type: 'application/json' };
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { bytes: text, type: 'application/json' };
    return { bytes: JSON.stringify(this.#dialect.answer(parsed as Record<string, unknown>, meta)), type: 'application/json; charset=utf-8' };
  }

  #translate(chunk: Buffer | string): string {
    const stream = this.#stream as DialectStream;
    let out = '';
    for (const data of eventData(chunk.toString())) {
      if (data === '[DONE]') {
        out += stream.done();
        continue;
      }
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(data) as Record<string, unknown>;
      } catch {
        continue;
      }
      const failure = failureIn(event);
      out += failure === null ? stream.chunk(event) : stream.fail(failure);
    }
    return out;
  }
}

function metaOf(headers: OutgoingHttpHeaders): AnswerMeta {
  const server = headers['x-switchyard-server'];
  return { server: typeof server === 'string' ? server : null };
}

/** An error event in any of our shapes (`{error: {message, type, code}}`, Anthropic's, Ollama's `{error: "…"}`). */
function failureIn(event: Record<string, unknown>): StreamFailure | null {
  const error = event['error'];
  if (error === undefined || event['choices'] !== undefined) return null;
  if (typeof error === 'string') return { message: error, type: 'server_error', code: null };
  if (error === null || typeof error !== 'object') return null;
  const fields = error as Record<string, unknown>;
  return {
    message: typeof fields['message'] === 'string' ? fields['message'] : 'The stream failed.',
    type: typeof fields['type'] === 'string' ? fields['type'] : 'server_error',
    code: typeof fields['code'] === 'string' ? fields['code'] : null,
  };
}
