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

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
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
