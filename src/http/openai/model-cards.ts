import type { Deployment } from '../../data/routing/deployment.ts';
import { isRoutable } from '../../data/routing/deployment-picker.ts';
import type { ModelIndex } from '../../data/routing/model-index.ts';
import type { RouteLookup } from '../../data/routing/resolve-candidates.ts';
import type { ModelCapability } from '../../domain/server-kind.ts';

/** One entry of `/v1/models` (and the answer of `/v1/models/{id}`): OpenAI's four fields, ours under `switchyard`. */
export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  switchyard: {
    servers: string[];
    capabilities: ModelCapability[];
    embedding_dimension: number | null;
    context_length: number | null;
    /** Set when the id is a route: the models it sends traffic to, then its fallbacks. */
    route?: { targets: string[]; fallbacks: string[] };
  };
}

/**
 * Every model and route a caller may use now, by id (aliases are not listed twice): each entry is what
 * `/v1/models/{id}` answers for it, and a route none of whose models any routable server serves is left out
 * there as here. A route named like a model is listed once, as the route, since requests resolve the route.
 */
export function listModelCards(index: ModelIndex, routes: RouteLookup | null, isAllowed: (name: string) => boolean, now: number): ModelCard[] {
  const cards = new Map<string, ModelCard>();
  for (const name of index.names()) {
    if (!isAllowed(name) || routes?.byName(name) !== undefined) continue;
    const card = cardOf(name, index.deploymentsOf(name).filter((deployment) => deployment.model.modelId === name), now);
    if (card !== null) cards.set(name, card);
  }
  for (const route of routes?.list() ?? []) {
    const card = findModelCard(route.name, index, routes, isAllowed, now);
    if (card !== null) cards.set(route.name, card);
  }
  return [...cards.values()];
}

/**
 * One name as a caller may send it in `model`: a route, a model id, or an
 * alias (`mixtral` for `mixtral:latest`); null when the list would not show it
 * either (unknown, outside the key's allow-list, or no routable server now).
 */
export function findModelCard(name: string, index: ModelIndex, routes: RouteLookup | null, isAllowed: (name: string) => boolean, now: number): ModelCard | null {
  if (name === '' || !isAllowed(name)) return null;
  const route = routes?.byName(name);
  if (route !== undefined) {
    // A route answers when any of its models could: its targets first, else a fallback.
    const models = [...route.targets.map((target) => target.model), ...route.fallbacks];
    const card = cardOf(name, models.flatMap((model) => index.deploymentsOf(model)), now);
    if (card === null) return null;
    card.created = Math.floor(Date.parse(route.createdAt) / 1000);
    card.owned_by = 'switchyard';
    card.switchyard.route = { targets: route.targets.map((target) => target.model), fallbacks: [...route.fallbacks] };
    return card;
  }
  const deployments = index.deploymentsOf(name);
  // An alias answers with the id the list shows for it, as OpenAI answers with a model's canonical id.
  const exact = deployments.filter((deployment) => deployment.model.modelId === name);
  return cardOf(exact.length > 0 ? name : (deployments[0]?.model.modelId ?? name), exact.length > 0 ? exact : deployments, now);
}

function cardOf(id: string, deployments: readonly Deployment[], now: number): ModelCard | null {
  let card: ModelCard | null = null;
  const capabilities = new Set<ModelCapability>();
  for (const deployment of deployments) {
    if (!isRoutable(deployment, now)) continue;
    const model = deployment.model;
    card ??= {
      id,
      object: 'model',
      created: Math.floor(Date.parse(model.firstSeenAt) / 1000),
      owned_by: deployment.server.serverType,
      switchyard: { servers: [], capabilities: [], embedding_dimension: model.embeddingDimension, context_length: model.contextLength },
    };
    if (!card.switchyard.servers.includes(deployment.server.name)) card.switchyard.servers.push(deployment.server.name);
    for (const capability of model.capabilities) capabilities.add(capability);
  }
  if (card !== null) card.switchyard.capabilities = [...capabilities];
  return card;
}
