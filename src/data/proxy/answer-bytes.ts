import type { AutoChoice } from '../routing/auto-select.ts';
import type { Deployment } from '../routing/deployment.ts';
import { pickDeployment } from '../routing/deployment-picker.ts';
import type { CandidateGroup } from '../routing/resolve-candidates.ts';
import type { RequestAffinity } from '../routing/prefix-affinity.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { UpstreamError } from '../upstream/upstream-error.ts';
import type { AppError } from '../../errors/app-error.ts';

// What the proxy needs to read and shape answers without parsing them where it can.

/** A deployment to try, and which group (0: a route's targets, then each fallback) it is in. */
export interface GroupPick {
  deployment: Deployment;
  group: number;
}

/**
 * The next deployment to try: the first group (a route's targets) until each
 * of its deployments was tried, then each fallback group in turn; when every
 * one was tried, the best of them again, except those in `notAgain`. Groups
 * before `firstGroup` are closed (their model is not to be asked again).
 */
export function pickFromGroups(groups: readonly CandidateGroup[], tried: ReadonlySet<string>, now: number, notAgain: ReadonlySet<string> | null = null, firstGroup = 0, affinity: RequestAffinity | null = null): GroupPick | null {
  // Closed circuits first, in every group: a model whose deployments all have open circuits is not
  // asked while a fallback can answer. It is still asked (never eject the last) when none can.
  for (let index = firstGroup; index < groups.length; index++) {
    const group = groups[index] as CandidateGroup;
    const closed = pickDeployment(group.deployments, { strategy: group.strategy, now, exclude: tried, allowRepeat: false, weights: group.weights, admittedOnly: true, affinity });
    if (closed !== null) return { deployment: closed, group: index };
  }
  for (let index = firstGroup; index < groups.length; index++) {
    const group = groups[index] as CandidateGroup;
    const fresh = pickDeployment(group.deployments, { strategy: group.strategy, now, exclude: tried, allowRepeat: false, weights: group.weights, affinity });
    if (fresh !== null) return { deployment: fresh, group: index };
  }
  for (let index = firstGroup; index < groups.length; index++) {
    const group = groups[index] as CandidateGroup;
    const candidates = notAgain === null ? group.deployments : group.deployments.filter((deployment) => !notAgain.has(deployment.key));
    const again = pickDeployment(candidates, { strategy: group.strategy, now, exclude: tried, weights: group.weights, affinity });
    if (again !== null) return { deployment: again, group: index };
  }
  return null;
}

/**
 * Whether an answer we pass through untouched is shaped like JSON: its first
 * and last non-blank bytes are `{…}` or `[…]`. This catches what broken
 * servers send with a 200 (an HTML page, plain text, an empty or cut-off
 * body) at a cost that does not grow with the answer, where parsing it would
 * cost 2–3 µs per KiB (an embeddings answer runs to hundreds of KiB). What it
 * lets through (`{` garbage `}`) only a full parse would catch.
 */
export function looksLikeJson(bytes: Buffer): boolean {
  let first = 0;
  while (first < bytes.length && isJsonBlank(bytes[first] as number)) first++;
  let last = bytes.length - 1;
  while (last > first && isJsonBlank(bytes[last] as number)) last--;
  if (last <= first) return false;
  const opening = bytes[first];
  const closing = bytes[last];
  return (opening === 0x7b && closing === 0x7d) || (opening === 0x5b && closing === 0x5d);
}

function isJsonBlank(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** `usage` of an OpenAI JSON answer or SSE chunk, found without parsing it. */
export { openAIUsage as usageIn } from '../adapters/shared/openai-usage.ts';

/**
 * When every server is busy (429) or unavailable (503), the caller hears
 * that, with the server's Retry-After, rather than a generic 502.
 */
export function busyOrFailed(status: number, retryAfterMs: number | null): UpstreamError {
  return new UpstreamError(status === 429 ? 'The model servers for this model are busy; retry later.' : `The model server answered HTTP ${status}.`, {
    failure: 'status',
    upstreamStatus: status,
    retryAfterMs,
  });
}

/** `auto` answers say what was chosen and why, in an extra field the OpenAI clients ignore. */
export function withAutoField(answer: unknown, auto: AutoChoice | null): unknown {
  if (auto === null || answer === null || typeof answer !== 'object' || Array.isArray(answer)) return answer;
  return { ...answer, switchyard: { auto: { model: auto.model, priority: auto.priority, reason: auto.reason } } };
}

export function isEventStream(contentType: string | string[] | undefined): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return value !== undefined && value.startsWith('text/event-stream');
}

export function contentTypeOf(headers: Record<string, string | string[] | undefined>): string {
  const value = headers['content-type'];
  return (Array.isArray(value) ? value[0] : value) ?? 'application/json';
}


export function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (error) {
    throw errors.upstreamNotJson(error);
  }
}

/** A 4xx from a server: the caller's mistake, with the server's own message (capped) whatever shape it used. */
export function upstreamRefusal(bytes: Buffer, status: number): AppError {
  let message = `The model server refused the request (HTTP ${status}).`;
  try {
    const parsed: unknown = JSON.parse(bytes.toString('utf8'));
    if (parsed !== null && typeof parsed === 'object') {
      const error = (parsed as { error?: unknown; message?: unknown }).error ?? (parsed as { message?: unknown }).message;
      if (typeof error === 'string') message = error;
      else if (error !== null && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
        message = (error as { message: string }).message;
      }
    }
  } catch {
    // Not JSON: keep the generic message rather than echo an unknown body.
  }
  return errors.upstreamRefused(status, message.slice(0, 2_000));
}
