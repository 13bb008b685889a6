import { RestError, type Caller, type InternalRest } from '../internal/internal-rest.ts';
import type { GatewaySocket } from './gateway-socket.ts';
import { ChatStreamReader } from '../internal/chat-stream-reader.ts';

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
  const reader = new ChatStreamReader();
  try {
    for await (const event of rest.events(caller, 'POST', '/v1/chat/completions', body, signal)) {
      const step = reader.read(event);
      if (step.kind === 'piece') socket.send({ type: 'delta', id, content: step.text });
      if (step.kind === 'failed') return socket.error(step.code, step.message, { id });
      if (step.kind === 'done') {
        socket.send({ type: 'done', id, message: { role: 'assistant', content: reader.content }, usage: reader.usage, model: reader.model, server: step.server, finish_reason: reader.finishReason });
        return;
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
