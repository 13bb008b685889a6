import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import mercurius from 'mercurius';
import type { ExecutionResult, GraphQLError as GraphQLErrorType, GraphQLFieldResolver, GraphQLScalarType, GraphQLSchema, ValueNode } from 'graphql';
import { buildSchema, GraphQLError, Kind } from './graphql-runtime.ts';
import { acceptJsonUnderAnyContentType } from '../plugins/json-body-parser.ts';
import type { InternalRest } from '../internal/internal-rest.ts';
import { hasCredentials, type GraphqlContext } from './graphql-caller.ts';
import { costLimitRule, graphqlLimits } from './graphql-limits.ts';
import { queryAndMutationResolvers, snakeCase } from './graphql-resolvers.ts';
import { graphqlSchema } from './graphql-schema.ts';
import { subscriptionResolvers } from './graphql-subscriptions.ts';

/** Where a GraphQL field's value is in the REST record when it is not the field's own name in snake_case. */
const renamedFields: Record<string, Record<string, string>> = {
  Model: { id: 'model', name: 'model', dimension: 'embedding_dimension' },
};

/**
 * `/graphql` (POST and GET) and its subscriptions over WebSocket
 * (`graphql-transport-ws`, the graphql-ws client; the legacy `graphql-ws`
 * protocol too), on mercurius. Every field is one REST call in-process with
 * the caller's credentials (docs/decisions/0026).
 */
export async function graphqlRoutes(app: FastifyInstance, dependencies: { rest: InternalRest }): Promise<void> {
  const schema = executableSchema(dependencies.rest);
  // `curl -d '{"query": …}'` sends a form content type: the body is read as JSON whatever it says.
  acceptJsonUnderAnyContentType(app);
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, tags: ['GraphQL'], summary: route.method === 'POST' ? 'GraphQL queries and mutations (batched: up to 10 operations)' : 'GraphQL queries by GET, and subscriptions over WebSocket', description: 'Each field needs the scope of the REST route it reads (listed in the schema\'s descriptions); errors carry `extensions.code` from the error catalogue.' };
  });
  app.addHook('preHandler', async (request, reply) => {
    const refusal = documentRefusal(request);
    if (refusal !== null) return reply.status(400).send({ data: null, errors: [{ message: refusal, extensions: { code: 'SY_GRAPHQL_TOO_COMPLEX', status: 400 } }] });
  });
  await app.register(mercurius, {
    schema,
    path: '/graphql',
    graphiql: false,
    queryDepth: graphqlLimits.maxDepth,
    validationRules: [costLimitRule],
    allowBatchedQueries: true,
    errorFormatter: formatErrors,
    subscription: {
      keepAlive: 30_000,
      context: (_socket: unknown, request: FastifyRequest) => ({ request }),
    },
  });
  app.graphql.addHook('preSubscriptionParsing', async (_schema, source) => {
    if (source.length > graphqlLimits.maxDocumentChars) throw new GraphQLError(tooLarge(source.length), { extensions: { code: 'SY_GRAPHQL_TOO_COMPLEX', status: 400 } });
  });
  // Connection-level refusal needs the upgrade's own headers: a key there (or the session cookie) is enough.
  app.graphql.addHook('preSubscriptionExecution', async (_schema, _document, context) => {
    if (!hasCredentials(context as unknown as GraphqlContext)) throw new GraphQLError('A Switchyard key is needed: send it as connection_init\'s payload {authorization}, or as an Authorization header.', { extensions: { code: 'SY_UNAUTHENTICATED', status: 401 } });
  });
}

function executableSchema(rest: InternalRest): GraphQLSchema {
  const schema = buildSchema(graphqlSchema);
  const { Query, Mutation } = queryAndMutationResolvers(rest);
  const subscriptions = subscriptionResolvers(rest);
  const json = schema.getType('JSON') as GraphQLScalarType;
  Object.assign(json, { serialize: (value: unknown) => value, parseValue: (value: unknown) => value, parseLiteral: literalValue });
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !('getFields' in type) || !('isTypeOf' in type)) continue;
    const fields = type.getFields() as Record<string, { resolve?: GraphQLFieldResolver<unknown, unknown>; subscribe?: GraphQLFieldResolver<unknown, unknown> }>;
    for (const [name, field] of Object.entries(fields)) {
      if (type.name === 'Query') field.resolve = Query[name] as GraphQLFieldResolver<unknown, unknown>;
      else if (type.name === 'Mutation') field.resolve = Mutation[name] as GraphQLFieldResolver<unknown, unknown>;
      else if (type.name === 'Subscription') Object.assign(field, subscriptions[name]);
      else field.resolve = recordField(renamedFields[type.name]?.[name] ?? snakeCase(name));
    }
  }
  return schema;
}

function recordField(key: string): GraphQLFieldResolver<unknown, unknown> {
  return (source) => (source as Record<string, unknown>)[key];
}

function literalValue(node: ValueNode): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.LIST:
      return node.values.map(literalValue);
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((field) => [field.name.value, literalValue(field.value)]));
    default:
      return null;
  }
}

function documentRefusal(request: FastifyRequest): string | null {
  const body = request.method === 'GET' ? request.query : request.body;
  const operations = Array.isArray(body) ? body : [body];
  if (operations.length > graphqlLimits.maxBatch) return `The batch holds ${operations.length} operations; the limit is ${graphqlLimits.maxBatch}.`;
  for (const operation of operations) {
    const query = (operation as { query?: unknown } | null)?.query;
    if (typeof query === 'string' && query.length > graphqlLimits.maxDocumentChars) return tooLarge(query.length);
  }
  return null;
}

function tooLarge(chars: number): string {
  return `The GraphQL document is ${chars} characters; the limit is ${graphqlLimits.maxDocumentChars}.`;
}

/** Every error carries `extensions.code`: ours from the resolvers, SY_GRAPHQL_* for documents GraphQL itself refused. */
function formatErrors(execution: ExecutionResult & { statusCode?: number }, context: { reply?: FastifyReply }): { statusCode: number; response: ExecutionResult } {
  const flattened: GraphQLErrorType[] = [];
  for (const error of execution.errors ?? []) {
    const inner = (error.originalError as { errors?: unknown } | undefined)?.errors;
    if (Array.isArray(inner)) flattened.push(...(inner as GraphQLErrorType[]));
    else flattened.push(error);
  }
  const errors = flattened.map((error) => {
    const existing = error.extensions?.['code'];
    const json = typeof error.toJSON === 'function' ? error.toJSON() : { message: String((error as { message?: unknown }).message) };
    if (typeof existing === 'string') return json;
    const isDepth = /depth/i.test(json.message);
    const isExecution = Array.isArray(error.path);
    const code = isDepth ? 'SY_GRAPHQL_TOO_COMPLEX' : isExecution ? 'SY_INTERNAL' : 'SY_GRAPHQL_INVALID';
    if (code === 'SY_INTERNAL') context.reply?.log.warn({ err: json.message }, 'a GraphQL field failed');
    return { ...json, ...(code === 'SY_INTERNAL' ? { message: 'The gateway failed to answer this field.' } : {}), extensions: { ...json.extensions, code, status: code === 'SY_INTERNAL' ? 500 : 400 } };
  });
  // GraphQL over HTTP: 200 with `errors` once execution ran; 400 for a document refused before it.
  const statusCode = execution.data !== undefined && execution.data !== null ? 200 : errors.every((error) => (error.extensions as { status?: number }).status === 400) ? 400 : 200;
  return { statusCode, response: { data: execution.data ?? null, errors } as unknown as ExecutionResult };
}
