import type { ModelCapability } from '../../domain/server-kind.ts';
import type { Operation } from '../adapters/inference-mapping.ts';
import type { Deployment, ModelStats } from './deployment.ts';
import { isRoutable } from './deployment-picker.ts';
import type { ModelIndex } from './model-index.ts';

export type AutoPriority = 'speed' | 'quality' | 'balanced';

export interface AutoChoice {
  model: string;
  priority: AutoPriority;
  reason: string;
  /** How well the chosen model fits the priority, 0..1 (1: best on every measure that counts). */
  score: number;
}

/** Explicit weights of speed and quality (the intelligent endpoints' speed_priority and quality_priority), summing to 1. */
export interface AutoWeights {
  speed: number;
  quality: number;
}

/** `auto`, `auto:speed`, `auto:quality`, `auto:balanced`; the body's `priority` field when the name says none. */
export function parseAutoModel(name: string, bodyPriority: unknown): AutoPriority | null {
  if (name !== 'auto' && !name.startsWith('auto:')) return null;
  const suffix = name.slice('auto:'.length);
  if (suffix === 'speed' || suffix === 'quality' || suffix === 'balanced') return suffix;
  if (bodyPriority === 'speed' || bodyPriority === 'quality' || bodyPriority === 'balanced') return bodyPriority;
  return 'balanced';
}

interface Candidate {
  model: string;
  ttfbMs: number | null;
  tokensPerSecond: number | null;
  sizeB: number | null;
  contextLength: number | null;
}

const codeHints = /```|\b(function|def |class |compile|stack trace|typescript|javascript|python|rust|golang|sql|regex|refactor|unit test|bug)\b/i;

/**
 * Picks a model for the request: by the capability it needs (embedding,
 * rerank, chat; code when the prompt is about code; tools when it sends
 * tools; a context window that fits), then by the caller's priority using
 * measured time to first byte and model size.
 */
export function selectAutoModel(
  operation: Operation,
  body: Record<string, unknown>,
  priority: AutoPriority,
  index: ModelIndex,
  now: number,
  isAllowed: (name: string) => boolean = () => true,
  weights?: AutoWeights,
): AutoChoice | null {
  const needs = requiredCapabilities(operation, body);
  const promptTokens = Math.ceil(JSON.stringify(body['messages'] ?? body['prompt'] ?? body['input'] ?? '').length / 4);
  const wanted = promptTokens + (typeof body['max_tokens'] === 'number' ? body['max_tokens'] : 0);
  let candidates = collect(index, now, needs.required).filter((candidate) => isAllowed(candidate.model) && (candidate.contextLength === null || candidate.contextLength >= wanted));
  let why = needs.label;
  if (needs.preferCode) {
    const eligible = new Set(candidates.map((candidate) => candidate.model));
    const coders = collect(index, now, [...needs.required, 'code']).filter((candidate) => eligible.has(candidate.model));
    if (coders.length > 0) {
      candidates = coders;
      why = 'code';
    }
  }
  if (candidates.length === 0) return null;
  const chosen = rank(candidates, priority, weights);
  return { model: chosen.model, priority, reason: explain(chosen, priority, why, candidates.length, weights), score: Math.round(Math.min(1, chosen.score) * 1000) / 1000 };
}

function hasRoutableDeployment(deployments: readonly Deployment[], now: number): boolean {
  for (const deployment of deployments) if (isRoutable(deployment, now)) return true;
  return false;
}

function requiredCapabilities(operation: Operation, body: Record<string, unknown>): { required: ModelCapability[]; preferCode: boolean; label: string } {
  if (operation === 'embeddings') return { required: ['embedding'], preferCode: false, label: 'embedding' };
  if (operation === 'rerank') return { required: ['rerank'], preferCode: false, label: 'rerank' };
  const required: ModelCapability[] = [operation === 'chat' ? 'chat' : 'completion'];
  if (Array.isArray(body['tools']) && body['tools'].length > 0) required.push('tools');
  const text = JSON.stringify(body['messages'] ?? body['prompt'] ?? '');
  return { required, preferCode: codeHints.test(text), label: required.includes('tools') ? 'chat with tools' : required[0] as string };
}

/** A model able to serve the request, and its deployments that can. */
interface Eligible {
  model: string;
  deployments: Deployment[];
  stats: ModelStats | null;
  sizeB: number | null;
  contextLength: number | null;
}

// Which models can serve a capability set changes only with the fleet: kept per index version.
const eligibleCache = new WeakMap<ModelIndex, { version: number; byNeed: Map<string, Eligible[]> }>();

function eligibleModels(index: ModelIndex, required: ModelCapability[]): Eligible[] {
  const version = index.version;
  let cached = eligibleCache.get(index);
  if (cached === undefined || cached.version !== version) {
    cached = { version, byNeed: new Map() };
    eligibleCache.set(index, cached);
  }
  const key = required.join(',');
  let eligible = cached.byNeed.get(key);
  if (eligible !== undefined) return eligible;
  eligible = [];
  // Only models that have what the request needs: the index keeps capability → models.
  for (const name of index.modelsWith(required)) {
    const deployments = index.deploymentsOf(name).filter((deployment) => deployment.model.modelId === name && required.every((capability) => deployment.model.capabilities.includes(capability)));
    const first = deployments[0];
    if (first === undefined) continue;
    eligible.push({ model: name, deployments, stats: first.state.model, sizeB: sizeOf(first), contextLength: first.model.contextLength });
  }
  cached.byNeed.set(key, eligible);
  return eligible;
}

/**
 * Models that can take the request now, with the model's measured speed
 * (across its servers). Per request this reads each eligible model, not each
 * deployment: a model usually has a routable deployment first in its list.
 */
function collect(index: ModelIndex, now: number, required: ModelCapability[]): Candidate[] {
  const candidates: Candidate[] = [];
  for (const entry of eligibleModels(index, required)) {
    if (!hasRoutableDeployment(entry.deployments, now)) continue;
    candidates.push({ model: entry.model, ttfbMs: entry.stats?.ttfbEwmaMs ?? null, tokensPerSecond: entry.stats?.tokensPerSecondEwma ?? null, sizeB: entry.sizeB, contextLength: entry.contextLength });
  }
  return candidates;
}

/** Billions of parameters, from what the server said (Ollama's parameter_size) or the name (yi-34b). */
function sizeOf(deployment: Deployment): number | null {
  const stated = deployment.model.details['parameter_size'];
  const text = typeof stated === 'string' ? stated : deployment.model.modelId;
  const match = /(\d+(?:\.\d+)?)\s*[bB](?![a-z])/.exec(text);
  return match === null ? null : Number(match[1]);
}

function rank(candidates: Candidate[], priority: AutoPriority, weights?: AutoWeights): Candidate & { score: number } {
  // One pass for the maxima, one for the scores: a big fleet has thousands of candidate models.
  let maxLatency = 1;
  let maxRate = 1;
  let maxSize = 1;
  for (const candidate of candidates) {
    if (candidate.ttfbMs !== null && candidate.ttfbMs > maxLatency) maxLatency = candidate.ttfbMs;
    if (candidate.tokensPerSecond !== null && candidate.tokensPerSecond > maxRate) maxRate = candidate.tokensPerSecond;
    if (candidate.sizeB !== null && candidate.sizeB > maxSize) maxSize = candidate.sizeB;
  }
  // Unknowns sit in the middle: a model never measured is neither punished nor favoured.
  // Speed is half how soon the answer starts, half how fast it flows.
  const speed = (candidate: Candidate) =>
    0.5 * (1 - (candidate.ttfbMs ?? maxLatency / 2) / maxLatency) + 0.5 * ((candidate.tokensPerSecond ?? maxRate / 2) / maxRate);
  const quality = (candidate: Candidate) => (candidate.sizeB ?? maxSize / 2) / maxSize;
  const score = (candidate: Candidate) =>
    weights !== undefined
      ? weights.speed * speed(candidate) + weights.quality * quality(candidate)
      : priority === 'speed' ? speed(candidate) + 0.01 * quality(candidate) : priority === 'quality' ? quality(candidate) + 0.01 * speed(candidate) : 0.5 * speed(candidate) + 0.5 * quality(candidate);
  let best = candidates[0] as Candidate;
  let bestScore = score(best);
  for (const candidate of candidates) {
    const value = score(candidate);
    if (value > bestScore || (value === bestScore && candidate.model < best.model)) {
      best = candidate;
      bestScore = value;
    }
  }
  return { ...best, score: bestScore };
}

function explain(chosen: Candidate, priority: AutoPriority, need: string, count: number, weights?: AutoWeights): string {
  const facts = [
    chosen.ttfbMs === null ? 'latency not yet measured' : `time to first byte ${chosen.ttfbMs.toFixed(0)} ms`,
    chosen.tokensPerSecond === null ? null : `${chosen.tokensPerSecond.toFixed(0)} tokens/s`,
    chosen.sizeB === null ? null : `${chosen.sizeB}B parameters`,
  ]
    .filter((fact) => fact !== null)
    .join(', ');
  const goal =
    weights !== undefined
      ? `best for speed ${Math.round(weights.speed * 100)}% and quality ${Math.round(weights.quality * 100)}%`
      : priority === 'speed' ? 'fastest' : priority === 'quality' ? 'most capable' : 'best balance of speed and capability';
  return `${goal} of ${count} ${need} model${count === 1 ? '' : 's'} (${facts})`;
}
