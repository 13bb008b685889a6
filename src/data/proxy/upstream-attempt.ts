import { request, type Dispatcher } from 'undici';
import type { UpstreamSettings } from '../../config/config-schema.ts';
import { toUpstreamError } from '../upstream/transport-error.ts';
import { UpstreamError } from '../upstream/upstream-error.ts';

export type AttemptOutcome =
  | { kind: 'response'; status: number; headers: Record<string, string | string[] | undefined>; body: Dispatcher.ResponseData['body'] }
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
    const response = await request(options.url, {
      method: options.method,
      headers,
      body: options.body,
      signal: options.controller.signal,
      dispatcher: options.dispatcher,
      headersTimeout: options.firstByteTimeoutMs + 1_000,
      bodyTimeout: options.settings.idle_timeout_ms,
    });
    return { kind: 'response', status: response.statusCode, headers: response.headers, body: response.body };
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
