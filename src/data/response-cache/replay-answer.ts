import type { ServerResponse } from 'node:http';
import { writeJson, type RouteHeaders } from '../proxy/client-reply.ts';
import { writeSynthesizedStream } from '../proxy/synthesized-stream.ts';
import type { StoredAnswer } from './response-cache.ts';

/**
 * Answers from the cache: the stored JSON as it was answered (its `id`
 * included: it is the same answer), or, for a stream, that answer as a
 * well-formed SSE stream in groups of words (see synthesized-stream.ts).
 * No server answered: `x-switchyard-server` is absent, `x-switchyard-model`
 * is the model that answered when it was stored, `age` its age in seconds.
 */
export function replayAnswer(
  response: ServerResponse,
  stored: StoredAnswer,
  options: { isStream: boolean; includeUsage: boolean; requestId: string; headers: Record<string, string>; now: number },
): void {
  const model = stored.answer['model'];
  const age = String(Math.max(0, Math.floor((options.now - stored.storedAt) / 1000)));
  const route: RouteHeaders = { requestId: options.requestId, server: null, model: typeof model === 'string' ? model : null, attempts: 0, route: null, reason: null, extra: { ...options.headers, age } };
  if (options.isStream) writeSynthesizedStream(response, route, stored.answer, options.includeUsage, { splitContent: true });
  else writeJson(response, 200, JSON.stringify(stored.answer), route);
}
