import { request, type Dispatcher } from 'undici';
import type { UpstreamSettings } from '../../config/config-schema.ts';
import { toUpstreamError } from '../upstream/transport-error.ts';
import type { UpstreamError } from '../upstream/upstream-error.ts';

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
  signal: AbortSignal;
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
  try {
    const response = await request(options.url, {
      method: 'POST',
      headers,
      body: options.body,
      signal: options.signal,
      dispatcher: options.dispatcher,
      headersTimeout: options.firstByteTimeoutMs,
      bodyTimeout: options.settings.idle_timeout_ms,
    });
    return { kind: 'response', status: response.statusCode, headers: response.headers, body: response.body };
  } catch (error) {
    return { kind: 'error', error: toUpstreamError(error, `POST ${new URL(options.url).pathname}`, options.isCallerGone()) };
  }
}
