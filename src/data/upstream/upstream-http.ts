import { Agent, request, type buildConnector, type Dispatcher } from 'undici';
import { UpstreamError } from './upstream-error.ts';
import { toUpstreamError } from './transport-error.ts';
import { readCapped } from './read-capped.ts';

export interface UpstreamHttpOptions {
  connectTimeoutMs?: number;
  /** A connector that enforces the network policy (see security/guarded-connector.ts). */
  connector?: buildConnector.connector;
  /** Largest response body read into memory (probes, JSON answers). */
  maxResponseBytes?: number;
}

export interface UpstreamCall {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  apiKey?: string | null;
  /** The server kind's own auth headers; when given, `apiKey` is not sent as a Bearer token. */
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Short description for error messages, e.g. "GET /api/tags". */
  what?: string;
}

export interface UpstreamTextResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * Pooled HTTP to model servers over undici. Every call has a deadline, every
 * body a size cap, and every failure becomes an UpstreamError.
 */
export class UpstreamHttp {
  readonly dispatcher: Dispatcher;
  readonly #maxResponseBytes: number;

  constructor(options: UpstreamHttpOptions = {}) {
    this.dispatcher = new Agent({
      connect: options.connector ?? { timeout: options.connectTimeoutMs ?? 5_000 },
      keepAliveTimeout: 10_000,
      connections: 128,
    });
    this.#maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
  }

  /** Any status; the body read as text (capped). Throws only on transport failure. */
  async text(call: UpstreamCall): Promise<UpstreamTextResponse> {
    const what = call.what ?? `${call.method ?? 'GET'} ${new URL(call.url).pathname}`;
    const timeout = AbortSignal.timeout(call.timeoutMs);
    const signal = call.signal === undefined ? timeout : AbortSignal.any([timeout, call.signal]);
    const headers: Record<string, string> = { accept: 'application/json, text/plain;q=0.9, */*;q=0.8' };
    if (call.headers !== undefined) Object.assign(headers, call.headers);
    else if (call.apiKey) headers['authorization'] = `Bearer ${call.apiKey}`;
    let body: string | undefined;
    if (call.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(call.body);
    }
    try {
      // undici follows no redirects unless asked: a model server cannot bounce us elsewhere.
      const response = await request(call.url, {
        method: call.method ?? 'GET',
        headers,
        body,
        signal,
        dispatcher: this.dispatcher,
        headersTimeout: call.timeoutMs,
        bodyTimeout: call.timeoutMs,
      });
      const text = (await readCapped(response.body, this.#maxResponseBytes, what)).toString('utf8');
      return { status: response.statusCode, headers: response.headers, text };
    } catch (error) {
      throw toUpstreamError(error, what, isCallerCancel(call.signal));
    }
  }

  /** A 2xx JSON answer, parsed; anything else is an UpstreamError (401/403 → `auth`). */
  async json(call: UpstreamCall): Promise<unknown> {
    const what = call.what ?? `${call.method ?? 'GET'} ${new URL(call.url).pathname}`;
    const response = await this.text(call);
    assertOk(response, what);
    try {
      return JSON.parse(response.text) as unknown;
    } catch (error) {
      throw new UpstreamError(`${what}: answer is not JSON`, { failure: 'protocol', cause: error });
    }
  }

  /**
   * A streamed NDJSON answer (Ollama's /api/pull), each line parsed and given
   * to `onLine` as it arrives. `idleMs` bounds the silence between bytes, not
   * the whole call: a pull may rightly take an hour. A non-2xx answer throws
   * with the server's own `error` text, which says what went wrong.
   */
  async ndjson(call: Omit<UpstreamCall, 'timeoutMs'> & { idleMs: number }, onLine: (value: unknown) => void): Promise<void> {
    const what = call.what ?? `${call.method ?? 'POST'} ${new URL(call.url).pathname}`;
    const headers: Record<string, string> = { accept: 'application/x-ndjson, application/json;q=0.9' };
    if (call.headers !== undefined) Object.assign(headers, call.headers);
    else if (call.apiKey) headers['authorization'] = `Bearer ${call.apiKey}`;
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const response = await request(call.url, {
        method: call.method ?? 'POST',
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        ...(call.signal === undefined ? {} : { signal: call.signal }),
        dispatcher: this.dispatcher,
        headersTimeout: call.idleMs,
        bodyTimeout: call.idleMs,
      });
      if (response.statusCode < 200 || response.statusCode >= 300) {
        const text = (await readCapped(response.body, 64 * 1024, what)).toString('utf8');
        assertOk({ status: response.statusCode, headers: response.headers, text }, `${what}${serverMessageOf(text)}`);
      }
      let pending = '';
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        pending += chunk.toString('utf8');
        if (pending.length > this.#maxResponseBytes) throw new UpstreamError(`${what}: a line longer than ${this.#maxResponseBytes} bytes`, { failure: 'protocol' });
        let newline = pending.indexOf('\n');
        while (newline >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line !== '') onLine(parseLine(line, what));
          newline = pending.indexOf('\n');
        }
      }
      if (pending.trim() !== '') onLine(parseLine(pending.trim(), what));
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      throw toUpstreamError(error, what, isCallerCancel(call.signal));
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function parseLine(line: string, what: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch (error) {
    throw new UpstreamError(`${what}: a streamed line is not JSON`, { failure: 'protocol', cause: error });
  }
}

/**
 * `: <message>` from an error answer's JSON (`{error: "..."}` as Ollama sends,
 * `{error: {message}}` or `{message}` as OpenAI-style servers do), short and on
 * one line; empty when there is none. Operators read it in an operation's
 * result: "pull model manifest: file does not exist" says what to fix.
 */
export function serverMessageOf(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return '';
  }
  if (typeof body !== 'object' || body === null) return '';
  const record = body as Record<string, unknown>;
  const nested = typeof record['error'] === 'object' && record['error'] !== null ? (record['error'] as Record<string, unknown>)['message'] : undefined;
  const message = typeof record['error'] === 'string' ? record['error'] : typeof nested === 'string' ? nested : typeof record['message'] === 'string' ? record['message'] : null;
  return message === null ? '' : `: ${message.replace(/\s+/g, ' ').slice(0, 300)}`;
}

export function assertOk(response: UpstreamTextResponse, what: string): void {
  const status = response.status;
  if (status >= 200 && status < 300) return;
  if (status === 401 || status === 403) {
    throw new UpstreamError(`${what}: the server rejected the API key (HTTP ${status})`, {
      failure: 'auth',
      upstreamStatus: status,
    });
  }
  throw new UpstreamError(`${what}: HTTP ${status}`, {
    failure: 'status',
    upstreamStatus: status,
    retryAfterMs: parseRetryAfter(response.headers['retry-after']),
  });
}

/** Retry-After as delta-seconds or an HTTP date, in milliseconds. */
export function parseRetryAfter(value: string | string[] | undefined): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return null;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}


/** A caller's deadline (AbortSignal.timeout) is a timeout; any other abort is a cancellation. */
function isCallerCancel(signal: AbortSignal | undefined): boolean {
  if (signal === undefined || !signal.aborted) return false;
  const reason: unknown = signal.reason;
  return !(reason instanceof Error && reason.name === 'TimeoutError');
}
