import type { LoadMetrics } from '../../data/adapters/server-adapter.ts';
import type { Deployment } from '../../data/routing/deployment.ts';
import { isRoutable } from '../../data/routing/deployment-picker.ts';
import type { ModelServer } from '../../domain/model-server.ts';
import type { ModelIndex } from '../../data/routing/model-index.ts';
import type { RouteLookup } from '../../data/routing/resolve-candidates.ts';
import type { ModelCapability } from '../../domain/server-kind.ts';
import { findModelCard, listModelCards, type ModelCard } from '../openai/model-cards.ts';

type Json = Record<string, unknown>;

/**
 * The fleet as Ollama's listing endpoints show a server's models: every model
 * and route the key may use, whatever serves it. What an Ollama server said
 * of a model (digest, size, family, quantization) is shown as it said it;
 * for other kinds those fields are empty rather than made up.
 */
export interface FleetListing {
  index: ModelIndex;
  routes: RouteLookup | null;
  loadOf: (serverId: string) => LoadMetrics | undefined;
  /** An Ollama server's own /api/show for one of its models (null: it did not answer); absent, /api/show is built from the index. */
  showFromServer?: (server: ModelServer, modelId: string, signal: AbortSignal) => Promise<Record<string, unknown> | null>;
}

/** The Ollama version Switchyard's API matches: clients gate features on it (thinking, tools, structured output). */
export const ollamaCompatibleVersion = '0.12.6';

export function tagsOf(listing: FleetListing, isAllowed: (name: string) => boolean, now: number): Json {
  return { models: listModelCards(listing.index, listing.routes, isAllowed, now).map((card) => tagEntry(card, representative(listing, card))) };
}

/**
 * `/api/show` for one name: an Ollama server's own answer when one of its
 * servers that can be routed to now has it (template, parameters, license as
 * Ollama says them), else built from the index; null when the caller may not see it.
 */
export async function showModel(listing: FleetListing, name: string, isAllowed: (name: string) => boolean, now: number, signal: AbortSignal): Promise<Json | null> {
  const card = findModelCard(name, listing.index, listing.routes, isAllowed, now);
  if (card === null) return null;
  const ollama = reachable(listing, card).find((deployment) => deployment.server.serverType === 'ollama' && isRoutable(deployment, now));
  if (ollama !== undefined && listing.showFromServer !== undefined) {
    const own = await listing.showFromServer(ollama.server, ollama.model.modelId, signal);
    if (own !== null) return own;
  }
  return showOf(listing, name, isAllowed, now);
}

/** `/api/show` built from the index, for any kind of server; null when the caller may not see the name. */
export function showOf(listing: FleetListing, name: string, isAllowed: (name: string) => boolean, now: number): Json | null {
  const card = findModelCard(name, listing.index, listing.routes, isAllowed, now);
  if (card === null) return null;
  const deployment = representative(listing, card);
  const details = detailsOf(deployment);
  const architecture = typeof details['family'] === 'string' && details['family'] !== '' ? details['family'] : 'unknown';
  const modelInfo: Json = { 'general.architecture': architecture };
  if (card.switchyard.context_length !== null) modelInfo[`${architecture}.context_length`] = card.switchyard.context_length;
  if (card.switchyard.embedding_dimension !== null) modelInfo[`${architecture}.embedding_length`] = card.switchyard.embedding_dimension;
  return {
    license: '',
    modelfile: '',
    parameters: '',
    template: '',
    details,
    model_info: modelInfo,
    capabilities: ollamaCapabilities(card.switchyard.capabilities),
    modified_at: modifiedAt(deployment),
  };
}

/**
 * `/api/ps`: the models loaded now, once each across the fleet (VRAM summed,
 * the latest expiry). Servers that keep their models loaded (vLLM, TEI …)
 * show them with no expiry, as Ollama shows a model kept alive for ever.
 */
export function runningOf(listing: FleetListing, isAllowed: (name: string) => boolean, now: number): Json {
  const entries = new Map<string, Json>();
  for (const card of listModelCards(listing.index, listing.routes, isAllowed, now)) {
    for (const deployment of listing.index.deploymentsOf(card.id)) {
      if (deployment.model.status !== 'loaded') continue;
      const running = listing.loadOf(deployment.server.id)?.running?.find((entry) => entry.model === deployment.model.modelId);
      const expiresAt = running?.expiresAt ?? foreverDate;
      const known = entries.get(card.id);
      if (known === undefined) {
        entries.set(card.id, { ...tagEntry(card, deployment), expires_at: expiresAt, size_vram: running?.vramBytes ?? 0, ...(card.switchyard.context_length === null ? {} : { context_length: card.switchyard.context_length }) });
      } else {
        known['size_vram'] = (known['size_vram'] as number) + (running?.vramBytes ?? 0);
        if (String(known['expires_at']) < expiresAt) known['expires_at'] = expiresAt;
      }
    }
  }
  return { models: [...entries.values()] };
}

/** How Ollama shows "kept loaded for ever" (a negative keep_alive). */
const foreverDate = '2318-03-15T00:00:00Z';

function tagEntry(card: ModelCard, deployment: Deployment | undefined): Json {
  const model = deployment?.model;
  return {
    name: card.id,
    model: card.id,
    modified_at: modifiedAt(deployment),
    size: typeof model?.details['size_bytes'] === 'number' ? model.details['size_bytes'] : 0,
    digest: typeof model?.details['digest'] === 'string' ? model.details['digest'] : '',
    details: detailsOf(deployment),
  };
}

function detailsOf(deployment: Deployment | undefined): Json {
  const details = deployment?.model.details ?? {};
  const family = typeof details['family'] === 'string' ? details['family'] : '';
  return {
    parent_model: '',
    format: deployment?.server.serverType === 'ollama' ? 'gguf' : '',
    family,
    families: family === '' ? null : [family],
    parameter_size: typeof details['parameter_size'] === 'string' ? details['parameter_size'] : '',
    quantization_level: typeof details['quantization'] === 'string' ? details['quantization'] : '',
  };
}

function modifiedAt(deployment: Deployment | undefined): string {
  const stated = deployment?.model.details['modified_at'];
  return typeof stated === 'string' ? stated : (deployment?.model.firstSeenAt ?? new Date(0).toISOString());
}

/** The deployments a card's requests reach: its own, or a route's targets'. */
function reachable(listing: FleetListing, card: ModelCard): readonly Deployment[] {
  const own = listing.index.deploymentsOf(card.id);
  if (own.length > 0) return own;
  return (card.switchyard.route?.targets ?? []).flatMap((target) => [...listing.index.deploymentsOf(target)]);
}

/** The deployment whose facts describe a card: one of its own id, else (a route) one of its first target's. */
function representative(listing: FleetListing, card: ModelCard): Deployment | undefined {
  const own = listing.index.deploymentsOf(card.id);
  if (own.length > 0) return own[0];
  const target = card.switchyard.route?.targets[0];
  return target === undefined ? undefined : listing.index.deploymentsOf(target)[0];
}

/** Ours as Ollama's capability names. */
function ollamaCapabilities(capabilities: readonly ModelCapability[]): string[] {
  const out = new Set<string>();
  for (const capability of capabilities) {
    if (capability === 'chat' || capability === 'completion') out.add('completion');
    else if (capability === 'embedding') out.add('embedding');
    else if (capability === 'vision') out.add('vision');
    else if (capability === 'tools') out.add('tools');
    else if (capability === 'code') out.add('insert');
  }
  return [...out];
}
