import type { ServerResponse } from 'node:http';
import { headerValue } from './header-value.ts';

/** Headers that say who answered; on every /v1 response. */
export interface RouteHeaders {
  requestId: string;
  server: string | null;
  model: string | null;
  attempts: number;
  /** The route (alias) the request came through, if any. */
  route: string | null;
  /** Why `auto` chose what it chose. */
  reason: string | null;
  /** Rate-limit headers and the like. */
  extra: Record<string, string> | null;
}

/**
 * Model ids come from model servers, names and reasons from operators: any of
 * them may hold what a header cannot (see headerValue), so none is written raw.
 */
export function routeHeaderList(route: RouteHeaders): Record<string, string> {
  const headers: Record<string, string> = { ...route.extra, 'x-request-id': headerValue(route.requestId), 'x-switchyard-attempts': String(route.attempts) };
  if (route.server !== null) headers['x-switchyard-server'] = headerValue(route.server);
  if (route.model !== null) headers['x-switchyard-model'] = headerValue(route.model);
  if (route.route !== null) headers['x-switchyard-route'] = headerValue(route.route);
  if (route.reason !== null) headers['x-switchyard-reason'] = headerValue(route.reason);
  return headers;
}

/** The head of an SSE answer to the caller: who answered, and no buffering on the way (nginx honours x-accel-buffering). */
export function eventStreamHeaders(route: RouteHeaders): Record<string, string> {
  return { ...routeHeaderList(route), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };
}

export function writeJson(response: ServerResponse, status: number, body: Buffer | string, route: RouteHeaders, contentType = 'application/json'): void {
  if (response.destroyed) return;
  // The content type may be the server's own.
  response.writeHead(status, { ...routeHeaderList(route), 'content-type': headerValue(contentType), 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
