import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/key-ring.ts';
import { QuotaService } from '../../auth/quota/quota-service.ts';
import type { Caller } from '../../collections/collection-service.ts';
import type { VectorService } from '../../collections/vector-service.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { estimatePromptTokens } from '../openai/estimate-tokens.ts';
import { callerOf, wildcardOf } from './collections-routes.ts';

const marker = '/vectors/';

/**
 * `/api/v1/models/{model}/vectors/…`: store, search, read and delete a
 * model's vectors. Model names hold `/` and `:` (`org/model`, `llama3:8b`),
 * sent as they are or encoded, as on `/v1/models/*`: the path is split at its
 * last `/vectors/`, so a vector id cannot itself hold `/vectors/`.
 */
export async function vectorsRoutes(app: FastifyInstance, dependencies: { vectors: VectorService; bodyLimit: number; quota: QuotaService }): Promise<void> {
  const { vectors, bodyLimit, quota } = dependencies;
  app.post('/models/*', { schema: { summary: 'Store or search a model\'s vectors (/models/{model}/vectors, /vectors/search)' }, bodyLimit }, async (request, reply) => {
    const { model, rest } = split(wildcardOf(request), 'POST', request.url);
    const caller = callerOf(request);
    switch (rest) {
      case 'store':
        return metered(quota, request, reply, (charged) => vectors.store(model, request.body, charged), caller);
      case 'search':
        return metered(quota, request, reply, (charged) => vectors.search(model, request.body, charged), caller);
      case 'delete':
        return vectors.delete(model, request.body, caller);
      default:
        throw errors.routeNotFound('POST', request.url);
    }
  });
  app.get('/models/*', { schema: { summary: 'Read a model\'s stored vectors' } }, async (request) => {
    const { model, rest } = split(wildcardOf(request), 'GET', request.url);
    return vectors.get(model, rest, callerOf(request));
  });
  app.delete('/models/*', { schema: { summary: 'Delete a model\'s stored vectors' } }, async (request) => {
    const { model, rest } = split(wildcardOf(request), 'DELETE', request.url);
    return vectors.deleteOne(model, rest, callerOf(request));
  });
}

/** The scope a request under `/models/*` needs: searches and reads are inference, writes `vectors:write` (or admin). */
export function isVectorWrite(method: string, url: string): boolean {
  if (method === 'DELETE') return true;
  if (method !== 'POST') return false;
  const path = url.split('?')[0] ?? '';
  return !path.endsWith('/vectors/search');
}

function split(path: string, method: string, url: string): { model: string; rest: string } {
  const at = path.lastIndexOf(marker);
  if (at <= 0 || at + marker.length >= path.length) throw errors.routeNotFound(method, url);
  return { model: path.slice(0, at), rest: path.slice(at + marker.length) };
}

/**
 * The key's limits apply to the embeddings a store or search makes, as to
 * /v1/embeddings: admitted on an estimate of its texts, settled with the
 * tokens the embedder reports (none for precomputed vectors or cache hits).
 */
async function metered<T>(quota: QuotaService, request: FastifyRequest, reply: FastifyReply, run: (caller: Caller) => Promise<T>, caller: Caller): Promise<T> {
  const principal = request.principal as Principal;
  if (!QuotaService.isLimited(principal)) {
    let tokens = 0;
    try {
      return await run({ ...caller, charge: (count) => (tokens += count) });
    } finally {
      quota.touch(principal.keyId, tokens);
    }
  }
  const decision = await quota.admit(principal, estimatePromptTokens('embeddings', { input: textsOf(request.body) }));
  reply.headers(decision.headers);
  if (!decision.ok) throw decision.error;
  let tokens = 0;
  try {
    return await run({ ...caller, charge: (count) => (tokens += count) });
  } finally {
    quota.settle(decision.ticket, principal.keyId, tokens);
  }
}

/** The texts a store or search body asks to embed (unchecked: only for the estimate). */
function textsOf(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const record = body as Record<string, unknown>;
  if (typeof record['query'] === 'string') return [record['query']];
  if (Array.isArray(record['texts'])) return record['texts'].filter((text): text is string => typeof text === 'string');
  if (Array.isArray(record['items'])) return record['items'].flatMap((item: unknown) => (typeof item === 'object' && item !== null && typeof (item as { text?: unknown }).text === 'string' ? [(item as { text: string }).text] : []));
  return [];
}
