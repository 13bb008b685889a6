import { request, type Dispatcher } from 'undici';
import type { UpstreamSettings } from '../../config/config-schema.ts';
import { toUpstreamError } from '../upstream/transport-error.ts';
import { UpstreamError } from '../upstream/upstream-error.ts';
import { requestWhole } from './whole-answer.ts';

/** An answer's body: a stream to relay or read, or (`readWhole`) bytes collected as they arrive. */
export type AnswerBody =
  | { kind: 'stream'; stream: Dispatcher.ResponseData['body'] }
  | { kind: 'whole'; bytes: Promise<Buffer>; discard: () => void };

export type AttemptOutcome =
  | { kind: 'response'; status: number; headers: Record<string, string | string[] | undefined>; body: AnswerBody }
  | { kind: 'error'; error: UpstreamError };

/**
 * One call to one server. The caller's `Authorization` is never forwarded:
 * the server kind's own auth headers (its stored key) are. Connect and first-byte timeouts come from
 * undici; the idle timeout between body chunks is undici's bodyTimeout.
 */
export async function sendAttempt(options: {
  dispatcher: Dispatcher;
  url: string;
  method: 'POST' | 'PUT';
  /** From the kind's plan: its auth headers. The gateway's own headers below win over them. */
  headers: Record<string, string>;
  body: string;
  requestId: string;
  /** The attempt's controller: the first-byte timer aborts it too (one controller, no AbortSignal.any). */
  controller: AbortController;
  /** W3C trace context of this attempt's span, when tracing is on. */
  traceparent?: string | null;
  firstByteTimeoutMs: number;
  settings: UpstreamSettings;
  isCallerGone: () => boolean;
  /** Read the answer whole, capped at `limit` bytes (`what` names the call in the refusal); absent: a stream. */
  readWhole?: { limit: number; what: string };
}): Promise<AttemptOutcome> {
  const headers: Record<string, string> = {
    ...options.headers,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'x-request-id': options.requestId,
  };
  if (options.traceparent) headers['traceparent'] = options.traceparent;
  // Our own timer: undici's timeouts are coarse (hundreds of ms), and a first-byte timeout must be exact.
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    options.controller.abort(new DOMException('first byte timeout', 'TimeoutError'));
  }, options.firstByteTimeoutMs);
  try {
    if (options.readWhole !== undefined) {
      const url = new URL(options.url);
      const dispatch = { origin: url.origin, path: `${url.pathname}${url.search}`, method: options.method, headers, body: options.body, headersTimeout: options.firstByteTimeoutMs + 1_000, bodyTimeout: options.settings.idle_timeout_ms };
      const answer = await requestWhole(options.dispatcher, dispatch, options.controller.signal, options.readWhole.limit, options.readWhole.what);
      return { kind: 'response', status: answer.status, headers: answer.headers, body: { kind: 'whole', bytes: answer.bytes, discard: answer.discard } };
    }
    const response = await request(options.url, {
      method: options.method,
      headers,
      body: options.body,
      signal: options.controller.signal,
      dispatcher: options.dispatcher,
      headersTimeout: options.firstByteTimeoutMs + 1_000,
      bodyTimeout: options.settings.idle_timeout_ms,
    });
    return { kind: 'response', status: response.statusCode, headers: response.headers, body: { kind: 'stream', stream: response.body } };
  } catch (error) {
    const isTimeout = timedOut || (options.controller.signal.aborted && !options.isCallerGone());
    return {
      kind: 'error',
      error: isTimeout
        ? new UpstreamError(`${options.method} ${new URL(options.url).pathname}: no answer within the time limit`, { failure: 'timeout', cause: error })
        : toUpstreamError(error, `${options.method} ${new URL(options.url).pathname}`, options.isCallerGone()),
    };
  } finally {
    clearTimeout(timer);
  }
}
