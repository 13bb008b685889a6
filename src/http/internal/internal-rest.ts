import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClientApi } from '../../data/proxy/request-outcome.ts';
import { eventData } from '../../data/proxy/translated-events.ts';
import { errors } from '../../errors/error-catalogue.ts';

/**
 * Who is calling through a non-HTTP front door (GraphQL, WebSocket, gRPC), as
 * the REST API would have seen them: their credentials travel as the same
 * headers, so keys, sessions, scopes, limits and the audit log's source are
 * exactly REST's.
 */
export interface Caller {
  /** `Bearer <key>` (or the key alone: it is prefixed). */
  authorization?: string;
  /** The console's session cookie header, with the Origin and Host it came with (changes need our own origin). */
  cookie?: string;
  origin?: string;
  host?: string;
  /** The client's address (audit log, per-address limits). */
  remoteAddress?: string;
  /** The front door: what usage records and `llm_requests_total{api}` say the request came in on. */
  via: FrontDoorApi;
}

export type FrontDoorApi = Extract<ClientApi, 'graphql' | 'grpc' | 'websocket'>;

/** A REST answer that was not a success, in the catalogue's terms. */
export class RestError extends Error {
  readonly status: number;
  readonly code: string;
  readonly type: string;
  readonly param: string | null;
  /** Seconds, from Retry-After (429 and 503). */
  readonly retryAfterS: number | null;

  constructor(status: number, body: unknown, headers: OutgoingHttpHeaders) {
    const error = errorFieldsOf(body);
    super(error.message ?? `The request failed with status ${status}.`);
    this.name = 'RestError';
    this.status = status;
    this.code = error.code ?? (status >= 500 ? 'SY_INTERNAL' : 'SY_INVALID_REQUEST');
    this.type = error.type ?? 'server_error';
    this.param = error.param ?? null;
    const retryAfter = Number(headers['retry-after']);
    this.retryAfterS = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null;
  }
}

/** A JSON answer. */
export interface RestAnswer<T = unknown> {
  status: number;
  headers: OutgoingHttpHeaders;
  body: T;
}

/** One Server-Sent Event of a REST stream. */
export interface RestEvent {
  event: string;
  data: string;
}

/** Marks a request this module made, so the front door can tell which API it came in on. */
const viaHeader = 'x-switchyard-via';
/** Names a call that its caller may hang up before the answer starts (see watchHangUp). */
const callHeader = 'x-switchyard-internal-call';
/** Calls in flight with a signal, by their call id: bounded by the calls in flight. */
const hangUpSignals = new Map<string, AbortSignal>();

/**
 * The non-HTTP front doors call the REST API in-process (Fastify's `inject`,
 * no socket): every rule REST applies (authentication, scopes, validation,
 * quotas, caches, routing, usage records, metrics, the audit log) applies to
 * them because it is the same code, not a copy (docs/decisions/0026).
 */
export class InternalRest {
  readonly #app: FastifyInstance;

  constructor(app: FastifyInstance) {
    this.#app = app;
  }

  /**
   * A JSON call; any status is answered (see `json` for one that throws on
   * failure). Aborting `signal` hangs up as a client would (the upstream call
   * is cancelled) and rejects with the signal's reason.
   */
  async request<T = unknown>(caller: Caller, method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<RestAnswer<T>> {
    const response = await withHangUp(signal, (headers) => this.#app.inject({ method: method as 'GET', url, headers: { ...headersOf(caller, body !== undefined), ...headers }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }), remoteAddress: caller.remoteAddress ?? '127.0.0.1' }));
    let parsed: unknown = null;
    if (response.body !== '') {
      try {
        parsed = JSON.parse(response.body);
      } catch {
        parsed = response.body;
      }
    }
    return { status: response.statusCode, headers: response.headers, body: parsed as T };
  }

  /** A JSON call that must succeed: anything but 2xx throws a RestError. */
  async json<T = unknown>(caller: Caller, method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<RestAnswer<T>> {
    const answer = await this.request<T>(caller, method, url, body, signal);
    if (answer.status < 200 || answer.status >= 300) throw new RestError(answer.status, answer.body, answer.headers);
    return answer;
  }

  /**
   * A streamed call (SSE): its events as they arrive. A failure before the
   * stream begins throws a RestError. Aborting `signal`, or leaving the loop
   * early, closes the request as a client hang-up would, which cancels the
   * upstream call.
   */
  async *events(caller: Caller, method: string, url: string, body: unknown, signal: AbortSignal): AsyncGenerator<RestEvent & { headers: OutgoingHttpHeaders }> {
    let opened: Awaited<ReturnType<InternalRest['openStream']>>;
    try {
      opened = await this.openStream(caller, method, url, body, signal);
    } catch (error) {
      // Hung up before the answer started: the stream ends quietly, as a hang-up after it does.
      if (signal.aborted) return;
      throw error;
    }
    yield* opened.events;
  }

  /**
   * A streamed call, opened: resolves once REST has answered with a stream
   * (before any event, so a quiet feed is known to be admitted), or throws
   * the RestError it answered instead. Aborting `signal` before then hangs
   * up (the upstream call is cancelled) and rejects with the signal's reason.
   */
  async openStream(caller: Caller, method: string, url: string, body: unknown, signal: AbortSignal): Promise<{ headers: OutgoingHttpHeaders; events: AsyncGenerator<RestEvent & { headers: OutgoingHttpHeaders }> }> {
    const response = await withHangUp(signal, (headers) => this.#app.inject({ method: method as 'GET', url, headers: { ...headersOf(caller, body !== undefined), ...headers }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }), remoteAddress: caller.remoteAddress ?? '127.0.0.1', payloadAsStream: true }));
    const stream = response.stream() as Readable;
    // The route's own response: destroying it is what a client hang-up looks like to the proxy and the SSE routes.
    const raw = response.raw.res as unknown as { destroy(): void };
    const hangUp = () => {
      raw.destroy();
      stream.destroy();
    };
    const type = String(response.headers['content-type'] ?? '');
    if (response.statusCode < 200 || response.statusCode >= 300 || !type.startsWith('text/event-stream')) {
      const text = await readAll(stream).finally(hangUp);
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON: the message says what status it was.
      }
      if (response.statusCode >= 200 && response.statusCode < 300) throw new RestError(502, { error: { message: 'The answer was not a stream.', code: 'SY_INTERNAL' } }, response.headers);
      throw new RestError(response.statusCode, parsed, response.headers);
    }
    if (signal.aborted) hangUp();
    signal.addEventListener('abort', hangUp, { once: true });
    return { headers: response.headers, events: sseEvents(stream, response.headers, signal, hangUp) };
  }
}

async function* sseEvents(stream: Readable, headers: OutgoingHttpHeaders, signal: AbortSignal, hangUp: () => void): AsyncGenerator<RestEvent & { headers: OutgoingHttpHeaders }> {
  try {
    let pending = '';
    for await (const chunk of stream) {
      pending += (chunk as Buffer).toString('utf8');
      const end = pending.lastIndexOf('\n\n');
      if (end === -1) continue;
      const complete = pending.slice(0, end + 2);
      pending = pending.slice(end + 2);
      for (const block of complete.split('\n\n')) {
        if (block === '') continue;
        const name = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message';
        for (const data of eventData(`${block}\n\n`)) yield { event: name, data, headers };
      }
    }
  } catch (error) {
    // A hang-up we asked for ends the stream quietly.
    if (signal.aborted) return;
    throw error;
  } finally {
    signal.removeEventListener('abort', hangUp);
    hangUp();
  }
}

/**
 * Lets a caller of InternalRest hang up before REST has started its answer
 * (a model server slow to send its first byte, a deadline that passes): an
 * injected request whose signal aborts has its response destroyed, which is
 * what a client disconnect looks like to the proxy and the embedding
 * pipeline. Called by the app's own onRequest hook for injected requests
 * only, so requests from sockets pay one property check and no extra hook.
 */
export function watchHangUp(request: FastifyRequest, reply: FastifyReply): void {
  const id = request.headers[callHeader];
  const signal = typeof id === 'string' ? hangUpSignals.get(id) : undefined;
  if (signal === undefined) return;
  if (signal.aborted) throw errors.clientDisconnected();
  const hangUp = () => reply.raw.destroy();
  signal.addEventListener('abort', hangUp, { once: true });
  reply.raw.once('close', () => signal.removeEventListener('abort', hangUp));
}

/** Whether a request came through InternalRest (light-my-request's request object), not from a socket. */
export function isInjected(request: FastifyRequest): boolean {
  return '_lightMyRequest' in request.raw;
}

/** Runs an injected call under `signal` (see watchHangUp); rejects with the signal's reason once it aborts. */
async function withHangUp<T>(signal: AbortSignal | undefined, inject: (headers: Record<string, string>) => Promise<T>): Promise<T> {
  if (signal === undefined) return inject({});
  if (signal.aborted) throw abortReason(signal);
  const id = randomUUID();
  hangUpSignals.set(id, signal);
  try {
    const answer = await inject({ [callHeader]: id });
    if (signal.aborted) throw abortReason(signal);
    return answer;
  } catch (error) {
    if (signal.aborted) throw abortReason(signal);
    throw error;
  } finally {
    hangUpSignals.delete(id);
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The call was hung up.', 'AbortError');
}

/** The front door a request came in on, when this module made it (null for everything a socket brought). */
export function frontDoorOf(request: { raw: object; headers: Record<string, string | string[] | undefined> }): FrontDoorApi | null {
  // Only an injected request has this property: a header alone, from the network, proves nothing.
  if (!('_lightMyRequest' in request.raw)) return null;
  const via = request.headers[viaHeader];
  return via === 'graphql' || via === 'grpc' || via === 'websocket' ? via : null;
}

function headersOf(caller: Caller, hasBody: boolean): Record<string, string> {
  const headers: Record<string, string> = { [viaHeader]: caller.via };
  if (caller.authorization !== undefined) headers['authorization'] = /^bearer\s/i.test(caller.authorization) ? caller.authorization : `Bearer ${caller.authorization}`;
  if (caller.cookie !== undefined) headers['cookie'] = caller.cookie;
  if (caller.origin !== undefined) headers['origin'] = caller.origin;
  if (caller.host !== undefined) headers['host'] = caller.host;
  if (hasBody) headers['content-type'] = 'application/json';
  return headers;
}

function errorFieldsOf(body: unknown): { message?: string; code?: string; type?: string; param?: string } {
  if (body === null || typeof body !== 'object') return {};
  const error = (body as { error?: unknown }).error;
  if (typeof error === 'string') return { message: error };
  if (error === null || typeof error !== 'object') return {};
  const fields = error as Record<string, unknown>;
  const text = (name: string) => (typeof fields[name] === 'string' ? (fields[name] as string) : undefined);
  const out: { message?: string; code?: string; type?: string; param?: string } = {};
  for (const name of ['message', 'code', 'type', 'param'] as const) {
    const value = text(name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

async function readAll(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += (chunk as Buffer).toString('utf8');
  return text;
}
