import type { KindCapacity, TokenUsage } from '../server-kind-module.ts';
import type { LoadMetrics } from '../server-adapter.ts';

/** `usage` of an OpenAI JSON answer, found without parsing it (usage sits at the end). */
export function openAIUsage(bytes: Buffer): TokenUsage {
  return { promptTokens: numberAfter(bytes, '"prompt_tokens"'), completionTokens: numberAfter(bytes, '"completion_tokens"') };
}

function numberAfter(bytes: Buffer, field: string): number {
  const at = bytes.lastIndexOf(field);
  if (at === -1) return 0;
  const match = /^"[a-z_]+"\s*:\s*(\d+)/.exec(bytes.toString('latin1', at, at + 48));
  return match === null ? 0 : Number(match[1]);
}

/** Usage of an answer we built in OpenAI's shape (a translation). */
export function usageOfAnswer(answer: unknown): TokenUsage | null {
  if (answer === null || typeof answer !== 'object') return null;
  const usage = (answer as { usage?: unknown }).usage;
  if (usage === null || typeof usage !== 'object') return null;
  const prompt = (usage as { prompt_tokens?: unknown }).prompt_tokens;
  const completion = (usage as { completion_tokens?: unknown }).completion_tokens;
  return { promptTokens: typeof prompt === 'number' ? prompt : 0, completionTokens: typeof completion === 'number' ? completion : 0 };
}

/** Servers whose only queue figure is how many requests wait; their limit when the probe found one (TEI's max_concurrent_requests). */
export function waitingCapacity(load: LoadMetrics | undefined): KindCapacity {
  const waiting = load?.waitingRequests ?? null;
  const max = load?.details['max_concurrent_requests'];
  return { running: load?.runningRequests ?? null, waiting, max: typeof max === 'number' && max > 0 ? max : null, queue: waiting ?? 0 };
}
