import { RestError, type InternalRest } from '../internal/internal-rest.ts';
import { callerOf, toGraphqlError, type GraphqlContext } from './graphql-caller.ts';

type Json = Record<string, unknown>;
type Args = Record<string, unknown>;
export type FieldResolver = (source: unknown, args: Args, context: GraphqlContext) => unknown;

/**
 * Queries and mutations: each one REST call, made in-process with the
 * caller's credentials, so each field needs exactly the scope its REST route
 * needs and is limited, routed and recorded as REST is.
 */
export function queryAndMutationResolvers(rest: InternalRest): { Query: Record<string, FieldResolver>; Mutation: Record<string, FieldResolver> } {
  const call = async <T = Json>(context: GraphqlContext, method: string, url: string, body?: unknown): Promise<{ body: T; headers: Record<string, unknown> }> => {
    try {
      const answer = await rest.json<T>(callerOf(context), method, url, body);
      return { body: answer.body, headers: answer.headers };
    } catch (error) {
      throw toGraphqlError(error);
    }
  };
  const get = async <T = Json>(context: GraphqlContext, url: string): Promise<T> => (await call<T>(context, 'GET', url)).body;
  const list = async (context: GraphqlContext, url: string): Promise<unknown[]> => (await get<{ data: unknown[] }>(context, url)).data;
  // A field naming one thing answers null when REST says it does not exist (GraphQL's way), any other failure as an error.
  const getOrNull = async (context: GraphqlContext, url: string): Promise<unknown> => {
    try {
      return (await rest.json(callerOf(context), 'GET', url)).body;
    } catch (error) {
      if (error instanceof RestError && error.status === 404) return null;
      throw toGraphqlError(error);
    }
  };

  return {
    Query: {
      servers: (_source, _args, context) => list(context, '/api/v1/model-servers'),
      server: (_source, args, context) => getOrNull(context, `/api/v1/model-servers/${segment(args['id'])}`),
      models: (_source, _args, context) => list(context, '/api/v1/models/status'),
      model: (_source, args, context) => getOrNull(context, `/api/v1/models/${segment(args['name'])}/status`),
      routes: (_source, _args, context) => list(context, '/api/v1/routes'),
      keys: (_source, _args, context) => list(context, '/api/v1/keys'),
      usage: (_source, args, context) => get(context, `/api/v1/analytics/usage${query({ from: args['from'], to: args['to'], group_by: args['groupBy'] })}`),
      performance: (_source, args, context) => get(context, `/api/v1/models/performance${query({ hours: args['hours'] })}`),
      collections: (_source, _args, context) => list(context, '/api/v1/collections'),
      operations: (_source, args, context) => list(context, `/api/v1/operations${query({ status: args['status'], kind: args['kind'], limit: args['limit'] })}`),
      operation: (_source, args, context) => getOrNull(context, `/api/v1/operations/${segment(args['id'])}`),
      health: async (_source, _args, context) => {
        const caller = callerOf(context);
        const [live, ready] = await Promise.all([rest.request<Json>(caller, 'GET', '/health'), rest.request<Json>(caller, 'GET', '/ready')]);
        return { status: live.body['status'] ?? 'unknown', ready: ready.status === 200, checks: ready.body['checks'] ?? null };
      },
    },
    Mutation: {
      addServer: async (_source, args, context) => (await call(context, 'POST', '/api/v1/model-servers', snakeKeys(args['input']))).body,
      updateServer: async (_source, args, context) => (await call(context, 'PUT', `/api/v1/model-servers/${segment(args['id'])}`, snakeKeys(args['input']))).body,
      removeServer: async (_source, args, context) => {
        await call(context, 'DELETE', `/api/v1/model-servers/${segment(args['id'])}`);
        return true;
      },
      testServer: async (_source, args, context) => (await call(context, 'POST', `/api/v1/model-servers/${segment(args['id'])}/test`)).body,
      checkAllServers: async (_source, _args, context) => (await call<{ data: unknown }>(context, 'POST', '/api/v1/model-servers/health-check-all')).body.data,
      createKey: async (_source, args, context) => {
        const created = (await call(context, 'POST', '/api/v1/keys', snakeKeys(args['input']))).body;
        const { key, ...record } = created;
        return { key, api_key: record };
      },
      revokeKey: async (_source, args, context) => {
        await call(context, 'DELETE', `/api/v1/keys/${segment(args['id'])}`);
        return true;
      },
      generateText: async (_source, args, context) => {
        const body = defined({ prompt: args['prompt'], max_tokens: args['maxTokens'], system: args['system'], temperature: args['temperature'] });
        const answer = (await call(context, 'POST', `/api/v1/models/${segment(args['model'])}/generate`, body)).body;
        const usage = answer['usage'] as Json;
        return { ...answer, tokens: usage['total_tokens'] };
      },
      chat: async (_source, args, context) => {
        const body = defined({ model: args['model'], messages: args['messages'], max_tokens: args['maxTokens'], temperature: args['temperature'] });
        const { body: answer, headers } = await call(context, 'POST', '/v1/chat/completions', body);
        const choice = ((answer['choices'] as Json[] | undefined) ?? [])[0] ?? {};
        const message = (choice['message'] as Json | undefined) ?? {};
        return { id: answer['id'], model: answer['model'], server: headers['x-switchyard-server'] ?? null, message: { role: message['role'] ?? 'assistant', content: typeof message['content'] === 'string' ? message['content'] : '' }, finish_reason: choice['finish_reason'] ?? null, usage: answer['usage'] ?? null };
      },
      embed: async (_source, args, context) => {
        const answer = (await call(context, 'POST', '/v1/embeddings', { model: args['model'], input: args['texts'] })).body;
        const vectors = ((answer['data'] as Json[] | undefined) ?? []).map((item) => item['embedding']);
        return { model: answer['model'], dimension: (vectors[0] as unknown[] | undefined)?.length ?? 0, vectors, usage: answer['usage'] === undefined ? null : { total_tokens: 0, completion_tokens: 0, ...(answer['usage'] as Json) } };
      },
      storeVector: async (_source, args, context) => (await call(context, 'POST', `/api/v1/models/${segment(args['model'])}/vectors/store`, args['items'] === undefined || args['items'] === null ? { texts: args['texts'] } : { items: args['items'] })).body,
      searchVectors: async (_source, args, context) => {
        const body = defined({ query: args['query'], vector: args['vector'], top_k: args['topK'], filter: args['filter'] });
        return (await call<{ data: unknown[] }>(context, 'POST', `/api/v1/models/${segment(args['model'])}/vectors/search`, body)).body.data;
      },
      pullModel: async (_source, args, context) => (await call(context, 'POST', '/api/v1/models/pull', { model: args['model'], servers: args['servers'] ?? 'all' })).body,
    },
  };
}

/** A path segment from an argument (ids and model names such as `org/model` or `llama3:8b`). */
export function segment(value: unknown): string {
  return encodeURIComponent(String(value));
}

function query(values: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value !== undefined && value !== null) params.set(name, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function defined(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined && value !== null));
}

/** An input object's own fields in REST's snake_case (`baseUrl` → `base_url`); JSON values inside are left as they are. */
function snakeKeys(input: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries((input ?? {}) as Record<string, unknown>)) if (value !== undefined) out[snakeCase(name)] = value;
  return out;
}

export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
