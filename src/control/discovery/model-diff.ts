import { randomUUID } from 'node:crypto';
import { modelMatches, type ExpectedModel, type ServerModel } from '../../domain/model-server.ts';
import type { DiscoveredModel } from '../../data/adapters/server-adapter.ts';
import { sortCapabilities } from '../../data/adapters/shared/capability-heuristics.ts';
import type { ModelEventsTable } from '../../storage/database-schema.ts';

export interface ModelDiff {
  upserts: ServerModel[];
  removedModelIds: string[];
  events: ModelEventsTable[];
}

/**
 * What changed between the models stored for a server and the ones a probe
 * found. Unchanged models are not rewritten, so a steady fleet costs no writes.
 */
export function diffModels(serverId: string, previous: ServerModel[], discovered: DiscoveredModel[], now: string): ModelDiff {
  const before = new Map(previous.map((model) => [model.modelId, model]));
  const seen = new Set<string>();
  const upserts: ServerModel[] = [];
  const events: ModelEventsTable[] = [];
  for (const found of discovered) {
    if (seen.has(found.id)) continue;
    seen.add(found.id);
    const old = before.get(found.id);
    const next: ServerModel = {
      serverId,
      modelId: found.id,
      capabilities: found.capabilities,
      embeddingDimension: found.embeddingDimension,
      contextLength: found.contextLength,
      status: found.status,
      details: found.details,
      firstSeenAt: old?.firstSeenAt ?? now,
      lastSeenAt: now,
    };
    if (old === undefined) {
      upserts.push(next);
      events.push({ id: randomUUID(), server_id: serverId, model_id: found.id, event: 'added', occurred_at: now });
    } else if (hasChanged(old, next)) {
      upserts.push(next);
    }
  }
  const removedModelIds = previous.filter((model) => !seen.has(model.modelId)).map((model) => model.modelId);
  for (const modelId of removedModelIds) {
    events.push({ id: randomUUID(), server_id: serverId, model_id: modelId, event: 'removed', occurred_at: now });
  }
  return { upserts, removedModelIds, events };
}

function hasChanged(old: ServerModel, next: ServerModel): boolean {
  return (
    old.status !== next.status ||
    old.embeddingDimension !== next.embeddingDimension ||
    old.contextLength !== next.contextLength ||
    old.capabilities.join(',') !== next.capabilities.join(',') ||
    JSON.stringify(old.details) !== JSON.stringify(next.details)
  );
}

/**
 * Fills what the server did not say from what the operator declared (fleet
 * file hints): a stated value always wins over a hint.
 */
export function applyExpectedHints(discovered: DiscoveredModel[], expected: ExpectedModel[]): DiscoveredModel[] {
  if (expected.length === 0) return discovered;
  return discovered.map((model) => {
    const hint = expected.find((candidate) => modelMatches(model.id, candidate.name));
    if (hint === undefined) return model;
    return {
      ...model,
      capabilities: sortCapabilities([...model.capabilities, ...(hint.capabilities ?? [])]),
      embeddingDimension: model.embeddingDimension ?? hint.embedding_dimension ?? null,
      contextLength: model.contextLength ?? hint.context_length ?? null,
    };
  });
}

/** Expected model names no discovered model answers to. */
export function missingExpectedModels(discovered: DiscoveredModel[], expected: ExpectedModel[]): string[] {
  return expected
    .filter((candidate) => !discovered.some((model) => modelMatches(model.id, candidate.name)))
    .map((candidate) => candidate.name);
}

/** A stored model as the adapter's `previous` map wants it. */
export function toDiscovered(model: ServerModel): DiscoveredModel {
  return {
    id: model.modelId,
    capabilities: model.capabilities,
    embeddingDimension: model.embeddingDimension,
    contextLength: model.contextLength,
    status: model.status,
    details: model.details,
  };
}
