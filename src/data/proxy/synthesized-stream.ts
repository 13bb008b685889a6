import type { ServerResponse } from 'node:http';
import { eventStreamHeaders, type RouteHeaders } from './client-reply.ts';

type Json = Record<string, unknown>;

function record(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

/**
 * A whole OpenAI answer (`chat.completion` or `text_completion`) as the SSE
 * stream a server that streams would have sent: role, content, finish reason,
 * the usage chunk when asked for, and exactly one `[DONE]`. For servers that
 * cannot stream, so a caller that asked for a stream still gets one.
 */
export function synthesizeEvents(answer: unknown, includeUsage: boolean): string[] {
  const whole = record(answer);
  const isChat = whole['object'] === 'chat.completion';
  const head = { id: whole['id'], object: isChat ? 'chat.completion.chunk' : 'text_completion', created: whole['created'], model: whole['model'] };
  const events: string[] = [];
  const choices = Array.isArray(whole['choices']) ? whole['choices'].map(record) : [];
  for (const [position, choice] of choices.entries()) {
    const index = typeof choice['index'] === 'number' ? choice['index'] : position;
    const finish = choice['finish_reason'] ?? 'stop';
    if (isChat) {
      const message = record(choice['message']);
      events.push(JSON.stringify({ ...head, choices: [{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] }));
      const content = typeof message['content'] === 'string' ? message['content'] : '';
      if (content !== '') events.push(JSON.stringify({ ...head, choices: [{ index, delta: { content }, logprobs: null, finish_reason: null }] }));
      events.push(JSON.stringify({ ...head, choices: [{ index, delta: {}, logprobs: null, finish_reason: finish }] }));
    } else {
      const text = typeof choice['text'] === 'string' ? choice['text'] : '';
      if (text !== '') events.push(JSON.stringify({ ...head, choices: [{ index, text, logprobs: null, finish_reason: null }] }));
      events.push(JSON.stringify({ ...head, choices: [{ index, text: '', logprobs: null, finish_reason: finish }] }));
    }
  }
  if (includeUsage && whole['usage'] !== undefined) events.push(JSON.stringify({ ...head, choices: [], usage: whole['usage'] }));
  events.push('[DONE]');
  return events;
}

export function writeSynthesizedStream(response: ServerResponse, route: RouteHeaders, answer: unknown, includeUsage: boolean): void {
  if (response.destroyed) return;
  response.writeHead(200, eventStreamHeaders(route));
  response.end(synthesizeEvents(answer, includeUsage).map((data) => `data: ${data}\n\n`).join(''));
}
