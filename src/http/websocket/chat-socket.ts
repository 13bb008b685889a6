import { RestError, type Caller, type InternalRest } from '../internal/internal-rest.ts';
import type { GatewaySocket } from './gateway-socket.ts';

type Json = Record<string, unknown>;

/** Fields of a chat message that are the socket protocol's own, not Chat Completions parameters. */
const protocolFields = new Set(['type', 'id', 'message', 'messages', 'stream', 'stream_options']);

/**
 * `/ws/chat`: `{id?, model, message}` (one user turn) or `{id?, model,
 * messages, …Chat Completions parameters}` streams `{type: "delta", id,
 * content}` messages and a last `{type: "done", id, message, usage, model,
 * server, finish_reason}`. Conversations run side by side by `id`;
 * `{type: "cancel", id}` cancels one (the upstream call with it). Each is a
 * streamed POST /v1/chat/completions with the socket's credentials.
 */
export function serveChat(socket: GatewaySocket, caller: Caller, rest: InternalRest, maxConversations: number): void {
  const running = new Map<string, AbortController>();
  let counter = 0;
  socket.closed.addEventListener('abort', () => {
    for (const controller of running.values()) controller.abort();
  });
  socket.onMessage((message) => {
    const type = message['type'] ?? 'chat';
    const id = typeof message['id'] === 'string' || typeof message['id'] === 'number' ? String(message['id']) : null;
    if (type === 'cancel') {
      const controller = id === null ? undefined : running.get(id);
      if (controller === undefined) return socket.error('SY_NOT_FOUND', `No conversation ${id ?? '(no id)'} is running.`, { id });
      controller.abort();
      return;
    }
    if (type !== 'chat') return socket.error('SY_INVALID_REQUEST', `Unknown message type "${String(type)}": send a chat ({model, message}) or {type: "cancel", id}.`, { id });
    const conversation = id ?? `c${++counter}`;
    if (running.has(conversation)) return socket.error('SY_CONFLICT', `Conversation ${conversation} is still running; use another id.`, { id: conversation });
    if (running.size >= maxConversations) return socket.error('SY_INVALID_REQUEST', `This socket already runs ${maxConversations} conversations (SWITCHYARD_WS_MAX_CONVERSATIONS).`, { id: conversation });
    const body = chatBody(message);
    if (typeof body === 'string') return socket.error('SY_INVALID_REQUEST', body, { id: conversation });
    const controller = new AbortController();
    running.set(conversation, controller);
    void converse(socket, caller, rest, conversation, body, controller.signal).finally(() => running.delete(conversation));
  });
}

function chatBody(message: Json): Json | string {
  if (typeof message['model'] !== 'string' || message['model'] === '') return 'model is required: {"model": "…", "message": "…"}.';
  const messages = typeof message['message'] === 'string' ? [{ role: 'user', content: message['message'] }] : message['messages'];
  if (!Array.isArray(messages) || messages.length === 0) return 'Send message (a string) or messages (a non-empty list).';
  const body: Json = {};
  for (const [name, value] of Object.entries(message)) if (!protocolFields.has(name)) body[name] = value;
  return { ...body, messages, stream: true, stream_options: { include_usage: true } };
}

async function converse(socket: GatewaySocket, caller: Caller, rest: InternalRest, id: string, body: Json, signal: AbortSignal): Promise<void> {
  let content = '';
  let model: unknown = null;
  let usage: unknown = null;
  let finish: unknown = null;
  try {
    for await (const event of rest.events(caller, 'POST', '/v1/chat/completions', body, signal)) {
      if (event.data === '[DONE]') {
        const server = event.headers['x-switchyard-server'];
        socket.send({ type: 'done', id, message: { role: 'assistant', content }, usage, model, server: typeof server === 'string' ? server : null, finish_reason: finish });
        return;
      }
      const chunk = JSON.parse(event.data) as Json;
      const failure = chunk['error'] as Json | undefined;
      if (failure !== undefined) {
        socket.error(typeof failure['code'] === 'string' ? failure['code'] : 'SY_UPSTREAM_STREAM_BROKEN', String(failure['message'] ?? 'The stream broke off.'), { id });
        return;
      }
      model = chunk['model'] ?? model;
      if (chunk['usage'] !== undefined && chunk['usage'] !== null) usage = chunk['usage'];
      const choice = ((chunk['choices'] as Json[] | undefined) ?? [])[0];
      if (choice === undefined) continue;
      if (choice['finish_reason'] !== undefined && choice['finish_reason'] !== null) finish = choice['finish_reason'];
      const piece = (choice['delta'] as Json | undefined)?.['content'];
      if (typeof piece === 'string' && piece !== '') {
        content += piece;
        socket.send({ type: 'delta', id, content: piece });
      }
    }
    // Ended without [DONE]: cancelled here, or the socket closed.
    if (signal.aborted) socket.send({ type: 'cancelled', id });
  } catch (error) {
    if (signal.aborted) return void socket.send({ type: 'cancelled', id });
    if (error instanceof RestError) return socket.error(error.code, error.message, { id, status: error.status, ...(error.retryAfterS === null ? {} : { retry_after_s: error.retryAfterS }) });
    socket.error('SY_INTERNAL', 'The conversation failed inside the gateway.', { id });
  }
}
