import type { FastifyInstance } from 'fastify';
import type { VectorService } from '../../collections/vector-service.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { callerOf, wildcardOf } from './collections-routes.ts';

const marker = '/vectors/';

/**
 * `/api/v1/models/{model}/vectors/…`: store, search, read and delete a
 * model's vectors. Model names hold `/` and `:` (`org/model`, `llama3:8b`),
 * sent as they are or encoded, as on `/v1/models/*`: the path is split at its
 * last `/vectors/`, so a vector id cannot itself hold `/vectors/`.
 */
export async function vectorsRoutes(app: FastifyInstance, dependencies: { vectors: VectorService; bodyLimit: number }): Promise<void> {
  const { vectors, bodyLimit } = dependencies;
  app.post('/models/*', { bodyLimit }, async (request) => {
    const { model, rest } = split(wildcardOf(request), 'POST', request.url);
    const caller = callerOf(request);
    switch (rest) {
      case 'store':
        return vectors.store(model, request.body, caller);
      case 'search':
        return vectors.search(model, request.body, caller);
      case 'delete':
        return vectors.delete(model, request.body, caller);
      default:
        throw errors.routeNotFound('POST', request.url);
    }
  });
  app.get('/models/*', async (request) => {
    const { model, rest } = split(wildcardOf(request), 'GET', request.url);
    return vectors.get(model, rest, callerOf(request));
  });
  app.delete('/models/*', async (request) => {
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
