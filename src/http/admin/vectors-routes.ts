import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/key-ring.ts';
import { QuotaService } from '../../auth/quota/quota-service.ts';
import type { Caller } from '../../collections/collection-service.ts';
import type { VectorService } from '../../collections/vector-service.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { estimatePromptTokens } from '../openai/estimate-tokens.ts';
import { callerOf, wildcardOf } from './collections-routes.ts';
import { Type } from 'typebox';
import { wildcardParams } from '../docs/wildcard-params.ts';
import { maxTopK } from '../../collections/vector-input.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Vectors'];

const VectorPath = wildcardParams('`{model}/vectors` (store), `{model}/vectors/search`, `{model}/vectors/delete`, or `{model}/vectors/{id}` (GET, DELETE); the model as it is (`org/model`, `llama3:8b`) or URL-encoded.');

// What the vector service accepts, for the published document only: the service
// checks bodies itself (vector-input.ts), so that a 400 names the exact item.
const scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);
const Filter = Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$' }), Type.Union([scalar, Type.Object({ in: Type.Array(scalar, { minItems: 1, maxItems: 1_000 }) }, { additionalProperties: false })]), {
  description: 'Metadata conditions, all ANDed: `{field: value}` (equality) or `{field: {in: [values]}}` (membership).',
  maxProperties: 32,
});
const Vector = Type.Array(Type.Number(), { minItems: 1 });
const StoreItem = Type.Object(
  { id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })), text: Type.Optional(Type.String({ minLength: 1 })), vector: Type.Optional(Vector), metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
  { additionalProperties: false, description: 'Exactly one of `text` (embedded by the model) and `vector` (stored as it is).' },
);
const VectorsBody = Type.Union(
  [
    Type.Object({ items: Type.Array(StoreItem, { minItems: 1 }) }, { additionalProperties: false, title: 'Store items (POST {model}/vectors)' }),
    Type.Object({ texts: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }) }, { additionalProperties: false, title: 'Store texts (POST {model}/vectors)' }),
    Type.Object(
      { query: Type.Optional(Type.String({ minLength: 1 })), vector: Type.Optional(Vector), top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: maxTopK, default: 10 })), filter: Type.Optional(Filter) },
      { additionalProperties: false, title: 'Search (POST {model}/vectors/search)', description: 'Either `query` (a text, embedded by the model) or `vector`.' },
    ),
    Type.Object({ ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1 })), filter: Type.Optional(Filter) }, { additionalProperties: false, title: 'Delete (POST {model}/vectors/delete)', description: '`ids`, `filter` or both.' }),
  ],
  { description: 'The body of the operation the path names.' },
);

const marker = '/vectors/';

/**
 * `/api/v1/models/{model}/vectors/…`: store, search, read and delete a
 * model's vectors. Model names hold `/` and `:` (`org/model`, `llama3:8b`),
 * sent as they are or encoded, as on `/v1/models/*`: the path is split at its
 * last `/vectors/`, so a vector id cannot itself hold `/vectors/`.
 */
export async function vectorsRoutes(app: FastifyInstance, dependencies: { vectors: VectorService; bodyLimit: number; quota: QuotaService }): Promise<void> {
  const { vectors, bodyLimit, quota } = dependencies;
  app.post('/models/*', { schema: { tags, params: VectorPath, documentedBody: VectorsBody, summary: 'Store, search or delete a model\'s vectors (/models/{model}/vectors, /vectors/search, /vectors/delete)', description: 'Storing and searching texts embeds them with the model, counted against the key\'s limits as /v1/embeddings is.' }, bodyLimit }, async (request, reply) => {
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
  app.get('/models/*', { schema: { tags, params: VectorPath, summary: 'Read one of a model\'s stored vectors (/models/{model}/vectors/{id})' } }, async (request) => {
    const { model, rest } = split(wildcardOf(request), 'GET', request.url);
    return vectors.get(model, rest, callerOf(request));
  });
  app.delete('/models/*', { schema: { tags, params: VectorPath, summary: 'Delete one of a model\'s stored vectors (/models/{model}/vectors/{id})' } }, async (request) => {
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
