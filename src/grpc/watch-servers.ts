import { Metadata, status as GrpcCode, type ServerWritableStream } from '@grpc/grpc-js';
import type { InternalRest } from '../http/internal/internal-rest.ts';
import type { CallTracker } from './grpc-call.ts';
import { CallEnded, isExpected, toGrpcError } from './grpc-status.ts';
import { toProtoStruct } from './struct-value.ts';

type Json = Record<string, unknown>;

/** Events a client may leave unread before it is dropped (a stuck reader must not grow our memory). */
export const maxUnreadEvents = 1_000;

/**
 * WatchServers: `GET /api/v1/events` (the fleet's changes as REST streams
 * them to the console) as a stream of ServerEvent, optionally only some
 * types. Runs until the client cancels, its deadline passes, or the gateway
 * shuts down (UNAVAILABLE: reconnect).
 */
export async function watchServers(call: ServerWritableStream<{ types?: string[] }, Json>, dependencies: { rest: InternalRest; calls: CallTracker; onInternalError: (error: unknown) => void }): Promise<void> {
  const context = dependencies.calls.open(call, 'watch');
  const types = new Set(call.request.types ?? []);
  try {
    const opened = await dependencies.rest.openStream(context.caller, 'GET', '/api/v1/events', undefined, context.signal);
    // Headers now, before any change: the client knows it is admitted and watching.
    call.sendMetadata(new Metadata());
    for await (const event of opened.events) {
      const message = toServerEvent(event.event, event.data);
      if (message === null || (types.size > 0 && !types.has(message['type'] as string))) continue;
      call.write(message);
      if (call.writableLength > maxUnreadEvents) {
        call.emit('error', { code: GrpcCode.RESOURCE_EXHAUSTED, details: `The client left more than ${maxUnreadEvents} events unread; watch again.` });
        return;
      }
    }
    if (context.signal.aborted) throw context.signal.reason;
    // REST ended the stream (it does not, short of a shutdown): the client watches again.
    throw new CallEnded('shutdown');
  } catch (error) {
    const failure = context.signal.aborted ? context.signal.reason : error;
    if (!isExpected(failure)) dependencies.onInternalError(failure);
    if (!(failure instanceof CallEnded && failure.why === 'cancelled')) call.emit('error', toGrpcError(failure));
  } finally {
    context.close();
  }
}

/** `server` events carry `{type, server}`; `server.deleted` carries `{id}`. */
export function toServerEvent(name: string, data: string): Json | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const record = parsed as Json;
  if (name === 'server.deleted') return { type: 'server.deleted', server: { id: record['id'] } };
  if (name !== 'server' || typeof record['server'] !== 'object' || record['server'] === null) return null;
  const server = record['server'] as Json;
  return { type: record['type'], server: { ...server, kind_config: toProtoStruct(server['kind_config']), metadata: toProtoStruct(server['metadata']) } };
}
