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
export function synthesizeEvents(answer: unknown, includeUsage: boolean, options: { splitContent?: boolean } = {}): string[] {
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
      for (const piece of pieces(content, options.splitContent === true)) events.push(JSON.stringify({ ...head, choices: [{ index, delta: { content: piece }, logprobs: null, finish_reason: null }] }));
      const toolCalls = Array.isArray(message['tool_calls']) ? message['tool_calls'].map(record) : [];
      // Each call whole in one delta, with its index: the SDKs merge deltas by index.
      for (const [position, call] of toolCalls.entries()) {
        const delta = { tool_calls: [{ index: position, id: call['id'], type: call['type'] ?? 'function', function: call['function'] }] };
        events.push(JSON.stringify({ ...head, choices: [{ index, delta, logprobs: null, finish_reason: null }] }));
      }
      events.push(JSON.stringify({ ...head, choices: [{ index, delta: {}, logprobs: null, finish_reason: finish }] }));
    } else {
      const text = typeof choice['text'] === 'string' ? choice['text'] : '';
      for (const piece of pieces(text, options.splitContent === true)) events.push(JSON.stringify({ ...head, choices: [{ index, text: piece, logprobs: null, finish_reason: null }] }));
      events.push(JSON.stringify({ ...head, choices: [{ index, text: '', logprobs: null, finish_reason: finish }] }));
    }
  }
  if (includeUsage && whole['usage'] !== undefined) events.push(JSON.stringify({ ...head, choices: [], usage: whole['usage'] }));
  events.push('[DONE]');
  return events;
}

const wordsPerPiece = 4;

/** The text whole, or in groups of a few words (whitespace kept) so a replay reads like a stream. */
function pieces(text: string, isSplit: boolean): string[] {
  if (text === '') return [];
  if (!isSplit) return [text];
  const words = text.match(/\s*\S+\s*/g) ?? [text];
  const out: string[] = [];
  for (let start = 0; start < words.length; start += wordsPerPiece) out.push(words.slice(start, start + wordsPerPiece).join(''));
  // Text that is only whitespace has no words.
  return out.length === 0 ? [text] : out;
}

export function writeSynthesizedStream(response: ServerResponse, route: RouteHeaders, answer: unknown, includeUsage: boolean, options: { splitContent?: boolean } = {}): void {
  if (response.destroyed) return;
  response.writeHead(200, eventStreamHeaders(route));
  response.end(synthesizeEvents(answer, includeUsage, options).map((data) => `data: ${data}\n\n`).join(''));
}
