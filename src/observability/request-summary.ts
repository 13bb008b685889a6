import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import type { RequestOutcome } from '../data/proxy/request-outcome.ts';

/** The request as the summary names it: `path` goes through the logger's URL redaction (query values). */
export interface SummarizedRequest {
  method: string;
  url: string;
}

/**
 * The one line a /v1 request logs when it is over, from what its outcome
 * already holds: who asked (the key's name, never the key), what for, where it
 * went, how it ended, tokens and time. A 5xx is a warning (degraded service);
 * the rest is info. Never a prompt, a completion or a secret.
 */
export function logRequestSummary(log: FastifyBaseLogger, request: SummarizedRequest, outcome: RequestOutcome, keyName: string | null): void {
  const level = outcome.status >= 500 ? 'warn' : 'info';
  if (!isEnabled(log, level)) return;
  log[level](
    {
      method: request.method,
      path: request.url,
      status: outcome.status,
      model: outcome.requestedModel.slice(0, 256),
      served_model: outcome.servedModel,
      route: outcome.route,
      server: outcome.serverName,
      error: outcome.errorType,
      attempts: outcome.attempts,
      prompt_tokens: outcome.promptTokens,
      completion_tokens: outcome.completionTokens,
      latency_ms: roundMs(outcome.latencyMs),
      ...(outcome.streamed ? { ttft_ms: outcome.ttftMs === null ? null : roundMs(outcome.ttftMs) } : {}),
      ...(outcome.queueWaitMs > 0 ? { queue_wait_ms: roundMs(outcome.queueWaitMs) } : {}),
      key: keyName,
    },
    'request',
  );
}

/** A /v1 request that never became an outcome (no key, a listing, an unknown path): what is known of it. */
export function logBareSummary(log: FastifyBaseLogger, request: SummarizedRequest, status: number, errorCode: string | null, latencyMs: number, keyName: string | null): void {
  const level = status >= 500 ? 'warn' : 'info';
  if (!isEnabled(log, level)) return;
  log[level]({ method: request.method, path: request.url, status, error: errorCode, latency_ms: roundMs(latencyMs), key: keyName }, 'request');
}

/** Any other request (admin API, console, health probes, metrics scrapes): debug only. */
export function logOtherRequest(log: FastifyBaseLogger, request: SummarizedRequest, status: number, latencyMs: number): void {
  if (!isEnabled(log, 'debug')) return;
  log.debug({ method: request.method, path: request.url, status, latency_ms: roundMs(latencyMs) }, 'request');
}

/** Checked first, so a disabled level costs no object on the request path. pino loggers have it; other loggers log. */
function isEnabled(log: FastifyBaseLogger, level: 'debug' | 'info' | 'warn'): boolean {
  return (log as Partial<Pick<Logger, 'isLevelEnabled'>>).isLevelEnabled?.(level) ?? true;
}

function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}
