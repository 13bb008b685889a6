import { once } from 'node:events';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { RestError, type InternalRest } from '../http/internal/internal-rest.ts';
import type { CallTracker } from './grpc-call.ts';
import { CallEnded, FrontDoorError, isExpected, statusOfCode, toGrpcError } from './grpc-status.ts';
import { serverOf } from './served-by.ts';

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
    let id = '';
    let model = '';
    let server: string | undefined;
    let finishReason: string | undefined;
    let usage: Json | undefined;
    let isDone = false;
    for await (const event of dependencies.rest.events(context.caller, 'POST', '/v1/chat/completions', body, context.signal)) {
      server ??= serverOf(event.headers);
      if (event.data === '[DONE]') {
        isDone = true;
        break;
      }
      const chunk = parse(event.data);
      if (chunk['error'] !== undefined) throw streamError(chunk['error']);
      id = typeof chunk['id'] === 'string' ? chunk['id'] : id;
      model = typeof chunk['model'] === 'string' ? chunk['model'] : model;
      if (isRecord(chunk['usage'])) usage = chunk['usage'];
      const choice = Array.isArray(chunk['choices']) && isRecord(chunk['choices'][0]) ? chunk['choices'][0] : {};
      if (typeof choice['finish_reason'] === 'string') finishReason = choice['finish_reason'];
      const content = isRecord(choice['delta']) ? choice['delta']['content'] : undefined;
      if (typeof content === 'string' && content !== '') await write(call, { id, model, content }, context.signal);
    }
    if (context.signal.aborted) throw context.signal.reason;
    if (!isDone) throw new RestError(502, { error: { message: 'The answer stream ended before it was complete.', code: 'SY_UPSTREAM_STREAM_BROKEN' } }, {});
    await write(call, { id, model, content: '', finish_reason: finishReason, usage, server, done: true }, context.signal);
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

/** An error event inside the stream (the upstream broke off after it began), as REST's error. */
function streamError(error: unknown): RestError {
  const code = isRecord(error) ? error['code'] : undefined;
  return new RestError(statusOfCode(code), { error }, {});
}

function parse(data: string): Json {
  try {
    const parsed: unknown = JSON.parse(data);
    if (isRecord(parsed)) return parsed;
  } catch {
    // Not JSON: REST never sends that; said as a broken stream below.
  }
  throw new FrontDoorError('The answer stream held an event that is not JSON.', 'SY_UPSTREAM_PROTOCOL');
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
