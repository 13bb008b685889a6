import type { FastifyRequest } from 'fastify';
import type { GraphQLError as GraphQLErrorType } from 'graphql';
import { GraphQLError } from './graphql-runtime.ts';
import { RestError, type Caller } from '../internal/internal-rest.ts';

/** What a resolver's context holds (over HTTP: the POST; over WebSocket: the upgrade and `connection_init`). */
export interface GraphqlContext {
  reply?: { request: FastifyRequest };
  request?: FastifyRequest;
  _connectionInit?: unknown;
}

/**
 * The caller as REST would see them: the key from `connection_init`'s
 * `authorization` (subscriptions: browsers cannot set WebSocket headers),
 * else the request's own `Authorization` / `x-api-key` header or the
 * console's session cookie.
 */
export function callerOf(context: GraphqlContext): Caller {
  const request = context.reply?.request ?? context.request;
  const caller: Caller = { via: 'graphql' };
  const init = context._connectionInit;
  const fromInit = init !== null && typeof init === 'object' ? (init as Record<string, unknown>)['authorization'] : undefined;
  if (typeof fromInit === 'string' && fromInit !== '') caller.authorization = fromInit;
  if (request === undefined) return caller;
  const headers = request.headers;
  const header = headers['authorization'] ?? headers['x-api-key'] ?? headers['api-key'];
  if (caller.authorization === undefined && typeof header === 'string') caller.authorization = header;
  if (typeof headers.cookie === 'string') caller.cookie = headers.cookie;
  if (typeof headers.origin === 'string') caller.origin = headers.origin;
  if (typeof headers.host === 'string') caller.host = headers.host;
  caller.remoteAddress = request.ip;
  return caller;
}

/** Whether a subscription's connection carries any credentials at all (without, it is refused at once). */
export function hasCredentials(context: GraphqlContext): boolean {
  const caller = callerOf(context);
  return caller.authorization !== undefined || (caller.cookie?.includes('sy_session=') ?? false);
}

/**
 * A REST failure as a GraphQL error: the message REST gave (safe to show),
 * `extensions.code` the catalogue's stable code, `extensions.status` the
 * HTTP status REST would have answered, and `retryAfterS` when waiting helps.
 */
export function toGraphqlError(error: unknown): GraphQLErrorType {
  if (error instanceof GraphQLError) return error;
  if (error instanceof RestError) {
    return new GraphQLError(error.message, { extensions: { code: error.code, status: error.status, ...(error.param === null ? {} : { param: error.param }), ...(error.retryAfterS === null ? {} : { retryAfterS: error.retryAfterS }) } });
  }
  // Anything else is ours to fix, and its detail is for the log, not the caller.
  return new GraphQLError('The gateway failed to answer this field.', { extensions: { code: 'SY_INTERNAL', status: 500 }, originalError: error instanceof Error ? error : undefined });
}
