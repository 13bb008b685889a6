import { once } from 'node:events';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { RestError, type InternalRest } from '../http/internal/internal-rest.ts';
import type { CallTracker } from './grpc-call.ts';
import { ChatStreamReader } from '../http/internal/chat-stream-reader.ts';
import { CallEnded, isExpected, statusOfCode, toGrpcError } from './grpc-status.ts';

type Json = Record<string, unknown>;

interface ChatRequest {
  model?: string;
  messages?: Array<{ role?: string; content?: string; name?: string }>;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string[];
  seed?: number;
}

/**
 * Chat: `POST /v1/chat/completions` streamed, each delta a message as it
 * arrives, and a last message (`done: true`) with the usage, model and the
 * server that answered. A slow reader holds the stream back (the write waits
 * for the client), it is not buffered without bound. A cancelled call or a
 * passed deadline hangs the REST stream up, which cancels the upstream call.
 */
export async function streamChat(call: ServerWritableStream<ChatRequest, Json>, dependencies: { rest: InternalRest; calls: CallTracker; onInternalError: (error: unknown) => void }): Promise<void> {
  const context = dependencies.calls.open(call);
  try {
    const request = call.request;
    const body: Json = {
      model: request.model ?? '',
      messages: (request.messages ?? []).map((message) => ({ role: message.role ?? '', content: message.content ?? '', ...(message.name === undefined ? {} : { name: message.name }) })),
      stream: true,
      stream_options: { include_usage: true },
    };
    for (const field of ['max_tokens', 'temperature', 'top_p', 'seed'] as const) if (request[field] !== undefined) body[field] = request[field];
    if (request.stop !== undefined && request.stop.length > 0) body['stop'] = request.stop;
    const reader = new ChatStreamReader();
    let server: string | null = null;
    let isDone = false;
    for await (const event of dependencies.rest.events(context.caller, 'POST', '/v1/chat/completions', body, context.signal)) {
      const step = reader.read(event);
      if (step.kind === 'failed') throw new RestError(statusOfCode(step.code), { error: { code: step.code, message: step.message } }, {});
      if (step.kind === 'piece') await write(call, { id: textOf(reader.id), model: textOf(reader.model), content: step.text }, context.signal);
      if (step.kind === 'done') {
        server = step.server;
        isDone = true;
        break;
      }
    }
    if (context.signal.aborted) throw context.signal.reason;
    if (!isDone) throw new RestError(502, { error: { message: 'The answer stream ended before it was complete.', code: 'SY_UPSTREAM_STREAM_BROKEN' } }, {});
    await write(call, { id: textOf(reader.id), model: textOf(reader.model), content: '', finish_reason: reader.finishReason, usage: reader.usage, server, done: true }, context.signal);
    call.end();
  } catch (error) {
    const failure = context.signal.aborted && !(error instanceof RestError) ? context.signal.reason : error;
    if (!isExpected(failure)) dependencies.onInternalError(failure);
    if (!(failure instanceof CallEnded && failure.why === 'cancelled')) call.emit('error', toGrpcError(failure));
  } finally {
    context.close();
  }
}

/** Writes a message; when the client is behind, waits until it has read (or the call ends). */
async function write(call: ServerWritableStream<ChatRequest, Json>, message: Json, signal: AbortSignal): Promise<void> {
  if (call.write(message)) return;
  await once(call, 'drain', { signal }).catch(() => undefined);
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
