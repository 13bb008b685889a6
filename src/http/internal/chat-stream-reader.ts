import { firstChoice, record, type Json } from '../dialects/openai-answer.ts';
import type { RestEvent } from './internal-rest.ts';

/** What one event of a streamed /v1/chat/completions answer says. */
export type ChatStreamStep = { kind: 'piece'; text: string } | { kind: 'done'; server: string | null } | { kind: 'failed'; code: string; message: string } | { kind: 'none' };

/**
 * Reads a streamed Chat Completions answer (the REST events the GraphQL
 * `chatStream` and `/ws/chat` relay), event by event, keeping what the last
 * message needs: the whole text, id, model, usage and finish reason.
 */
export class ChatStreamReader {
  id: unknown = null;
  model: unknown = null;
  usage: unknown = null;
  finishReason: unknown = null;
  content = '';

  read(event: RestEvent & { headers?: Record<string, unknown> }): ChatStreamStep {
    if (event.data === '[DONE]') {
      const server = event.headers?.['x-switchyard-server'];
      return { kind: 'done', server: typeof server === 'string' ? server : null };
    }
    const chunk = JSON.parse(event.data) as Json;
    if (chunk['error'] !== undefined) {
      // A stream that broke after it began: its last event names why, in the catalogue's terms.
      const error = record(chunk['error']);
      return { kind: 'failed', code: typeof error['code'] === 'string' ? error['code'] : 'SY_UPSTREAM_STREAM_BROKEN', message: String(error['message'] ?? 'The stream broke off.') };
    }
    this.id = chunk['id'] ?? this.id;
    this.model = chunk['model'] ?? this.model;
    if (chunk['usage'] !== undefined && chunk['usage'] !== null) this.usage = chunk['usage'];
    const choice = firstChoice(chunk);
    if (choice['finish_reason'] !== undefined && choice['finish_reason'] !== null) this.finishReason = choice['finish_reason'];
    const piece = record(choice['delta'])['content'];
    if (typeof piece !== 'string' || piece === '') return { kind: 'none' };
    this.content += piece;
    return { kind: 'piece', text: piece };
  }
}
