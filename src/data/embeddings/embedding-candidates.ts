import type { Deployment } from '../routing/deployment.ts';
import type { Resolution } from '../routing/resolve-candidates.ts';

/** How a request's texts may be cut into sub-batches that every candidate deployment accepts. */
export interface BatchLimits {
  /** Inputs per upstream request. */
  maxInputs: number;
  /** Estimated tokens per upstream request (TEI's max_batch_tokens); null when no candidate says. */
  maxTokens: number | null;
}

/**
 * What the embedding pipeline knows before routing: the deployments a name
 * can reach (a route's targets and fallbacks), the model ids among them (the
 * cache is keyed on the served model, so it is used only when there is
 * exactly one), their batch limits and their declared dimension.
 */
export interface EmbeddingCandidates {
  deployments: readonly Deployment[];
  modelIds: readonly string[];
  limits: BatchLimits;
  /** The dimension the candidates declare (probe or fleet file), when they agree on one. */
  declaredDimension: number | null;
}

export function embeddingCandidates(resolution: Resolution, defaultBatchSize: number): EmbeddingCandidates {
  const deployments = resolution.groups.flatMap((group) => group.deployments);
  const modelIds = [...new Set(deployments.map((deployment) => deployment.model.modelId))];
  let maxInputs = defaultBatchSize;
  let maxTokens: number | null = null;
  const dimensions = new Set<number>();
  for (const deployment of deployments) {
    // The smallest limit among the candidates: any sub-batch may be sent (or retried) to any of them.
    maxInputs = Math.min(maxInputs, batchSizeOf(deployment) ?? maxInputs);
    const tokens = positive(deployment.model.details['max_batch_tokens']);
    if (tokens !== null) maxTokens = maxTokens === null ? tokens : Math.min(maxTokens, tokens);
    if (deployment.model.embeddingDimension !== null) dimensions.add(deployment.model.embeddingDimension);
  }
  return { deployments, modelIds, limits: { maxInputs, maxTokens }, declaredDimension: dimensions.size === 1 ? ([...dimensions][0] as number) : null };
}

/**
 * Inputs a deployment takes in one request: what the server reports (TEI's
 * `/info` max_client_batch_size, kept in the model's details), else the
 * operator's `max_batch_size` in the server's metadata, else none.
 */
export function batchSizeOf(deployment: Deployment): number | null {
  return positive(deployment.model.details['max_client_batch_size']) ?? positive(deployment.server.metadata['max_batch_size']);
}

function positive(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}

/** A text's tokens, over-estimated (three characters a token, plus the two special tokens) so a sub-batch stays under the limit. */
export function estimatedTokens(text: string): number {
  return Math.ceil(text.length / 3) + 2;
}

/** Positions of the texts to send, cut into sub-batches under the limits, in order. */
export function splitIntoBatches(texts: readonly string[], limits: BatchLimits): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let tokens = 0;
  for (let position = 0; position < texts.length; position++) {
    const cost = limits.maxTokens === null ? 0 : estimatedTokens(texts[position] as string);
    const full = current.length >= limits.maxInputs || (limits.maxTokens !== null && current.length > 0 && tokens + cost > limits.maxTokens);
    if (full) {
      batches.push(current);
      current = [];
      tokens = 0;
    }
    current.push(position);
    tokens += cost;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
