import { createHash } from 'node:crypto';
import type { Operation } from '../adapters/inference-mapping.ts';

/**
 * Fields that never change what the model answers: how the answer is
 * delivered (`stream`, `stream_options`), who asked (`user`), and labels
 * (`metadata`, `store`). `model` is keyed as the caller wrote it, apart.
 * Everything else is keyed, so a field we do not know of (a server's own
 * sampling option) keeps two requests apart rather than mixing their answers.
 * Steering fields (`priority`) are removed before the request gets here.
 */
const unkeyedFields = new Set(['model', 'user', 'stream', 'stream_options', 'metadata', 'store']);

export interface RequestKeys {
  /** The whole normalised request: an exact hit needs this identical. */
  exact: string;
  /** Everything but the last user message (semantic mode only; null when the request has no such message). */
  prefix: string | null;
  /** The last user message's text, embedded in semantic mode. */
  lastUserText: string | null;
}

/** JSON with object keys sorted at every depth, so field order never splits the cache. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** `scope` is the key id (scope `key`) or `*` (scope `global`): part of every hash. */
export function requestKeys(operation: Operation, modelName: string, body: Record<string, unknown>, scope: string, isSemantic: boolean): RequestKeys {
  const keyed: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(body)) if (!unkeyedFields.has(field)) keyed[field] = value;
  const exact = hash(canonicalJson({ operation, model: modelName, scope, body: keyed }));
  if (!isSemantic) return { exact, prefix: null, lastUserText: null };
  const split = splitLastUserMessage(operation, keyed);
  if (split === null) return { exact, prefix: null, lastUserText: null };
  return { exact, prefix: hash(canonicalJson({ operation, model: modelName, scope, body: split.rest })), lastUserText: split.text };
}

/** The last user message and everything else (earlier turns, system prompt, tools, parameters). */
function splitLastUserMessage(operation: Operation, body: Record<string, unknown>): { text: string; rest: Record<string, unknown> } | null {
  if (operation === 'completion') {
    const prompt = body['prompt'];
    if (typeof prompt !== 'string' || prompt === '') return null;
    const { prompt: _prompt, ...rest } = body;
    return { text: prompt, rest };
  }
  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0) return null;
  const last = messages.at(-1) as { role?: unknown; content?: unknown } | null;
  // A tool result or assistant turn last (agent traffic) is answered exactly or not at all.
  if (last === null || typeof last !== 'object' || last.role !== 'user') return null;
  const text = textOf(last.content);
  if (text === null || text === '') return null;
  // The last message's other fields (a `name`) stay in the prefix.
  const { content: _content, ...lastRest } = last;
  return { text, rest: { ...body, messages: [...messages.slice(0, -1), lastRest] } };
}

/** A string, or text parts only: an image changes the question in ways its text does not show. */
function textOf(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const texts: string[] = [];
  for (const part of content) {
    const typed = part as { type?: unknown; text?: unknown } | null;
    if (typed === null || typeof typed !== 'object' || typed.type !== 'text' || typeof typed.text !== 'string') return null;
    texts.push(typed.text);
  }
  return texts.join('\n');
}
