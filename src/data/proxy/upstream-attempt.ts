import { request, type Dispatcher } from 'undici';
import type { UpstreamSettings } from '../../config/config-schema.ts';
import { toUpstreamError } from '../upstream/transport-error.ts';
import { UpstreamError } from '../upstream/upstream-error.ts';

export type AttemptOutcome =
  | { kind: 'response'; status: number; headers: Record<string, string | string[] | undefined>; body: Dispatcher.ResponseData['body'] }
  | { kind: 'error'; error: UpstreamError };

/**
 * One call to one server. The caller's `Authorization` is never forwarded:
 * the server's own stored key is. Connect and first-byte timeouts come from
 * undici; the idle timeout between body chunks is undici's bodyTimeout.
 */
export async function sendAttempt(options: {
  dispatcher: Dispatcher;
  url: string;
  apiKey: string | null;
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
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'x-request-id': options.requestId,
  };
  if (options.apiKey !== null) headers['authorization'] = `Bearer ${options.apiKey}`;
  if (options.traceparent) headers['traceparent'] = options.traceparent;
  // Our own timer: undici's timeouts are coarse (hundreds of ms), and a first-byte timeout must be exact.
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    options.controller.abort(new DOMException('first byte timeout', 'TimeoutError'));
  }, options.firstByteTimeoutMs);
  try {
    const response = await request(options.url, {
      method: 'POST',
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
        ? new UpstreamError(`POST ${new URL(options.url).pathname}: no answer within the time limit`, { failure: 'timeout', cause: error })
        : toUpstreamError(error, `POST ${new URL(options.url).pathname}`, options.isCallerGone()),
    };
  } finally {
    clearTimeout(timer);
  }
}
