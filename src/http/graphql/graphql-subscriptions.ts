import { GraphQLError } from './graphql-runtime.ts';
import type { InternalRest, RestEvent } from '../internal/internal-rest.ts';
import { callerOf, toGraphqlError, type GraphqlContext } from './graphql-caller.ts';
import { segment } from './graphql-resolvers.ts';
import { ChatStreamReader } from '../internal/chat-stream-reader.ts';

type Json = Record<string, unknown>;
type Args = Record<string, unknown>;
/** One REST event as the subscription's values (none, one or several). */
type Translate = (event: RestEvent & { headers?: Record<string, unknown> }) => Iterable<unknown>;

export interface SubscriptionField {
  subscribe: (source: unknown, args: Args, context: GraphqlContext) => Promise<AsyncIterable<unknown>>;
  resolve: (payload: unknown) => unknown;
}

/**
 * Subscriptions read the REST API's own live streams (SSE, in-process): fleet
 * events, model status changes, live figures, operation progress, a streamed
 * chat. Ending the subscription hangs the stream up, which for `chatStream`
 * cancels the upstream call.
 */
export function subscriptionResolvers(rest: InternalRest): Record<string, SubscriptionField> {
  // Confirmed once REST has opened its stream, so a bad key or scope is an error at once, and a quiet feed simply waits.
  const field = (open: (args: Args) => { method: string; url: string; body?: unknown }, translator: () => Translate): SubscriptionField => ({
    subscribe: async (_source, args, context) => {
      const { method, url, body } = open(args);
      const controller = new AbortController();
      try {
        const stream = await rest.openStream(callerOf(context), method, url, body, controller.signal);
        // A translator per subscription: a chat's keeps its own id, model and usage.
        return translated(stream.events, translator(), controller);
      } catch (error) {
        throw toGraphqlError(error);
      }
    },
    resolve: (payload) => payload,
  });

  return {
    modelStatusUpdates: field(
      () => ({ method: 'GET', url: '/api/v1/models/status/events' }),
      () => function* (event) {
        if (event.event !== 'model') return;
        const change = JSON.parse(event.data) as Json;
        yield { id: change['model'], status: change['status'], loaded: change['loaded'], servers: change['servers'] };
      },
    ),
    serverHealth: field(
      () => ({ method: 'GET', url: '/api/v1/events' }),
      () => function* (event) {
        const data = JSON.parse(event.data) as Json;
        if (event.event === 'server.deleted') {
          yield { id: data['id'], name: data['name'] ?? data['id'], status: 'removed', reason: null };
          return;
        }
        if (event.event !== 'server' || (data['type'] !== 'server.status_changed' && data['type'] !== 'server.created')) return;
        const server = data['server'] as Json;
        yield { id: server['id'], name: server['name'], status: server['health_status'], reason: server['status_reason'] ?? server['status_message'] ?? null };
      },
    ),
    metrics: field(
      (args) => ({ method: 'GET', url: `/api/v1/metrics/live${typeof args['intervalMs'] === 'number' ? `?interval_ms=${Math.max(0, Math.trunc(args['intervalMs']))}` : ''}` }),
      () => function* (event) {
        if (event.event === 'metrics') yield JSON.parse(event.data);
      },
    ),
    operationProgress: field(
      (args) => ({ method: 'GET', url: `/api/v1/operations/${segment(args['id'])}/events` }),
      () => function* (event) {
        if (event.event === 'operation') yield JSON.parse(event.data);
      },
    ),
    chatStream: field(
      (args) => ({
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: args['model'], messages: args['messages'], stream: true, stream_options: { include_usage: true }, ...(args['maxTokens'] == null ? {} : { max_tokens: args['maxTokens'] }), ...(args['temperature'] == null ? {} : { temperature: args['temperature'] }) },
      }),
      chatDeltas,
    ),
  };
}

/** OpenAI chunks as `ChatDelta`s: one per piece of text, then one with `done: true`, the usage and who answered. */
function chatDeltas(): Translate {
  const reader = new ChatStreamReader();
  return function* (event) {
    const step = reader.read(event);
    if (step.kind === 'failed') throw new GraphQLError(step.message, { extensions: { code: step.code, status: 502 } });
    if (step.kind === 'piece') yield { id: reader.id, content: step.text, done: false, finish_reason: null, usage: null, model: reader.model, server: null };
    if (step.kind === 'done') yield { id: reader.id, content: '', done: true, finish_reason: reader.finishReason, usage: reader.usage, model: reader.model, server: step.server };
  };
}

async function* translated(events: AsyncGenerator<RestEvent>, translate: Translate, controller: AbortController): AsyncGenerator<unknown> {
  try {
    for await (const event of events) yield* translate(event);
  } finally {
    // The client unsubscribed or the socket closed: hang the REST stream up (a chat's upstream call with it).
    controller.abort();
  }
}
