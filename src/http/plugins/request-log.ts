import type { FastifyInstance } from 'fastify';
import { logBareSummary, logOtherRequest } from '../../observability/request-summary.ts';

/**
 * One line per request, instead of Fastify's two ("incoming request",
 * "request completed"), which said nothing of model, server or tokens.
 * Inference requests with a known caller log their summary from their outcome
 * (openai-routes.ts); the other /v1 requests (no key, listings, unknown paths)
 * get what is known here. Everything else, the admin API, the console, health
 * probes and scrapes, is debug: a load balancer probing /ready every second
 * must not drown the lines a person reads.
 */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    if (!isInferencePath(request.url)) logOtherRequest(request.log, request, reply.statusCode, reply.elapsedTime);
    else if (request.principal === null || request.routeOptions.config.operation === undefined) {
      logBareSummary(request.log, request, reply.statusCode, request.answeredError?.code ?? null, reply.elapsedTime, request.principal?.name ?? null);
    }
    done();
  });
}

function isInferencePath(url: string): boolean {
  return url.startsWith('/v1') && (url.length === 3 || url[3] === '/' || url[3] === '?');
}
