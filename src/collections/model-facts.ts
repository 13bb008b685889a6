import type { ServerModel } from '../domain/model-server.ts';
import type { ModelCapability } from '../domain/server-kind.ts';
import { cannotServe } from '../data/routing/capability-check.ts';
import type { Deployment } from '../data/routing/deployment.ts';
import { errors } from '../errors/error-catalogue.ts';
import type { AppError } from '../errors/app-error.ts';

/** What the collection service reads of the model index and routes. */
export interface ModelLookup {
  /** Served or declared by a server, or a route name. */
  isKnown(name: string): boolean;
  deploymentsOf(name: string): readonly Deployment[];
  suggest(name: string, isAllowed: (name: string) => boolean): string[];
}

const servable: readonly ModelCapability[] = ['chat', 'completion', 'embedding', 'rerank'];

/** The 400 when every deployment of `name` is known not to embed; null when one may. */
export function embeddingRefusal(name: string, deployments: readonly Deployment[]): AppError | null {
  if (deployments.length === 0 || deployments.some((deployment) => !cannotServe(deployment, 'embeddings'))) return null;
  const serves = new Set(deployments.flatMap((deployment) => deployment.model.capabilities));
  return errors.unsupportedOperation(name, 'embeddings', servable.filter((capability) => serves.has(capability)));
}

/** The dimension a server reported for the model (TEI /info, Ollama's embedding_length, a fleet hint). */
export function knownDimension(deployments: readonly Deployment[]): number | null {
  for (const deployment of deployments) if (deployment.model.embeddingDimension !== null) return deployment.model.embeddingDimension;
  return null;
}

/** The model's digests across its deployments (Ollama reports one per pulled model), sorted; empty when no server says. */
export function digestsOf(deployments: readonly Deployment[]): string[] {
  const digests = new Set<string>();
  for (const deployment of deployments) {
    const digest = digestOf(deployment.model);
    if (digest !== null) digests.add(digest);
  }
  return [...digests].sort();
}

function digestOf(model: Pick<ServerModel, 'details'>): string | null {
  const digest = model.details['digest'];
  return typeof digest === 'string' && digest !== '' ? digest : null;
}
