import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AppError } from './app-error.ts';

/**
 * The one place an error becomes bytes for a client: a JSON body in the shape
 * of the API it answers on, a final event once a stream has started, or raw
 * HTTP on a socket the HTTP parser gave up on. The Fastify error handler and
 * the proxy both write through here.
 *
 * Shapes: `openai` for /v1 (`{error: {message, type, param, code}}`, what the
 * OpenAI SDKs parse), `admin` for everything else (`{error: {message, type,
 * code, param}}`). Another client API (Ollama's, Anthropic's) is a new shape
 * here plus a line in `shapeByPrefix`.
 */
export type ErrorShape = 'openai' | 'admin' | 'anthropic' | 'ollama';

/** First match wins: `/v1/messages` before `/v1/`, `/api/v1/` (ours) before `/api/` (Ollama's). */
const shapeByPrefix: ReadonlyArray<readonly [prefix: string, shape: ErrorShape]> = [
  ['/v1/messages', 'anthropic'],
  ['/v1/', 'openai'],
  ['/api/v1/', 'admin'],
  ['/api/', 'ollama'],
];

/** The shape for a request path (any query string is ignored). */
export function errorShapeFor(url: string): ErrorShape {
  for (const [prefix, shape] of shapeByPrefix) if (url.startsWith(prefix)) return shape;
  return 'admin';
}

const bodies: Record<ErrorShape, (error: AppError) => unknown> = {
  openai: (error) => ({ error: { message: error.message, type: error.type, param: error.param, code: error.code } }),
  admin: (error) => ({ error: { message: error.message, type: error.type, code: error.code, param: error.param } }),
  // What the Anthropic SDKs parse: `{type: "error", error: {type, message}}` with Anthropic's own type names.
  anthropic: (error) => ({ type: 'error', error: { type: anthropicType(error), message: error.message } }),
  // Ollama answers `{"error": "<message>"}`; its clients show the string.
  ollama: (error) => ({ error: error.message }),
};

/** Anthropic's error types by status (its documented list); `overloaded_error` is its 529, our saturated 503. */
export function anthropicType(error: AppError): string {
  switch (error.status) {
    case 400: case 422: return 'invalid_request_error';
    case 401: return 'authentication_error';
    case 402: return 'billing_error';
    case 403: return 'permission_error';
    case 404: return 'not_found_error';
    case 413: return 'request_too_large';
    case 429: return 'rate_limit_error';
    case 503: case 529: return 'overloaded_error';
    case 502: return 'api_error';
    case 504: return 'timeout_error';
    default: return error.status < 500 ? 'invalid_request_error' : 'api_error';
  }
}

/**
 * The status in the API's own terms. Anthropic's clients know 500 (api_error)
 * and 529 (overloaded_error), not a gateway's 502 and 503; Claude Code and the
 * SDKs back off on 529 as on Anthropic's own overload.
 */
export function statusIn(error: AppError, shape: ErrorShape): number {
  if (shape !== 'anthropic') return error.status;
  if (error.status === 502) return 500;
  if (error.status === 503) return 529;
  return error.status;
}

export function errorBody(error: AppError, shape: ErrorShape): string {
  return JSON.stringify(bodies[shape](error));
}

/**
 * The request id, and what a client needs to decide on retrying: Retry-After on
 * a retryable 429 or 503, and `x-should-retry`, which the OpenAI SDKs obey over
 * their status-based default (so an exhausted budget is not retried).
 */
export function errorHeaders(error: AppError, requestId: string): Record<string, string> {
  const headers: Record<string, string> = {
    'x-request-id': requestId,
    'x-should-retry': String(error.retryable),
    'content-type': 'application/json; charset=utf-8',
  };
  if (error.retryable && (error.status === 429 || error.status === 503)) headers['retry-after'] = String(retryAfterSeconds(error));
  if (error.code === 'SY_SHUTTING_DOWN') headers['connection'] = 'close';
  return headers;
}

/** A whole error response on a raw response (the proxy writes outside Fastify's reply). */
export function writeError(response: ServerResponse, error: AppError, options: { shape: ErrorShape; requestId: string; headers?: Record<string, string> }): void {
  if (response.headersSent || response.destroyed) return;
  const body = errorBody(error, options.shape);
  response.writeHead(statusIn(error, options.shape), { ...options.headers, ...errorHeaders(error, options.requestId), 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

/** After a stream has started, an error can only be its last event; the OpenAI SDKs raise it. */
export function streamErrorEvent(error: AppError, shape: ErrorShape): string {
  return `data: ${errorBody(error, shape)}\n\n`;
}

export function writeStreamError(response: ServerResponse, error: AppError, shape: ErrorShape): void {
  if (response.destroyed || response.writableEnded) return;
  response.end(streamErrorEvent(error, shape));
}

/** For a request the HTTP parser refused (no route, no request object): raw HTTP, then close. */
export function writeErrorToSocket(socket: Duplex, error: AppError): void {
  if (!socket.writable) return;
  const body = errorBody(error, 'admin');
  const headers = { ...errorHeaders(error, randomUUID()), 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n${head}\r\n${body}`);
}

function retryAfterSeconds(error: AppError): number {
  return error.retryAfterMs !== null && error.retryAfterMs > 0 ? Math.ceil(error.retryAfterMs / 1000) : 1;
}

