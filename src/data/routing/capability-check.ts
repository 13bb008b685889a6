import { capabilitySourceOf, type ServerModel } from '../../domain/model-server.ts';
import type { ModelCapability } from '../../domain/server-kind.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { AppError } from '../../errors/app-error.ts';
import type { Operation } from '../adapters/inference-mapping.ts';
import { findServerKind } from '../adapters/server-kinds.ts';
import type { Deployment } from './deployment.ts';
import type { CandidateGroup } from './resolve-candidates.ts';

/** The capability each operation needs. */
export const operationCapability: Readonly<Record<Operation, ModelCapability>> = { chat: 'chat', completion: 'completion', embeddings: 'embedding', rerank: 'rerank' };

// Capabilities that are kinds of request (code, vision and tools are features of a chat model).
const servable: readonly ModelCapability[] = ['chat', 'completion', 'embedding', 'rerank'];

/**
 * True when the deployment is known not to serve the operation: its model
 * lacks the capability and we know its capabilities rather than guessed them
 * (a guess lets the request through; the server then answers for itself).
 * A few array reads on the resolved deployment: no lookup per request beyond it.
 */
export function cannotServe(deployment: Deployment, operation: Operation): boolean {
  const model = deployment.model;
  if (model.capabilities.includes(operationCapability[operation])) return false;
  if (operation === 'embeddings' && embedsAsGenerator(model, deployment.server.serverType)) return false;
  const source = capabilitySourceOf(model);
  if (source === 'name') return findServerKind(deployment.server.serverType)?.namesTellCapabilities === true;
  return source !== null;
}

/**
 * True when the model can answer embeddings: an embedder, or a generator on a
 * kind whose server embeds with any model (Ollama). What decides whether a
 * model may own a vector collection.
 */
export function canEmbed(model: Pick<ServerModel, 'capabilities'>, serverType: string): boolean {
  return model.capabilities.includes('embedding') || embedsAsGenerator(model, serverType);
}

function embedsAsGenerator(model: Pick<ServerModel, 'capabilities'>, serverType: string): boolean {
  const generates = model.capabilities.includes('completion') || model.capabilities.includes('chat');
  return generates && findServerKind(serverType)?.generatorsEmbed === true;
}

/**
 * The 400 for a name none of whose deployments can serve the operation, naming
 * what it does serve; null when any deployment can, or might (checked before
 * any upstream call, so such a request never reaches a server).
 */
export function capabilityRefusal(name: string, operation: Operation, groups: readonly CandidateGroup[]): AppError | null {
  let deployments = 0;
  for (const group of groups) {
    for (const deployment of group.deployments) {
      if (!cannotServe(deployment, operation)) return null;
      deployments++;
    }
  }
  return deployments === 0 ? null : unsupported(name, operation, groups);
}

/** The refusal, with what the deployments in `groups` serve between them. */
export function unsupported(name: string, operation: Operation, groups: readonly CandidateGroup[]): AppError {
  const serves = new Set<ModelCapability>();
  for (const group of groups) for (const deployment of group.deployments) for (const capability of deployment.model.capabilities) serves.add(capability);
  return errors.unsupportedOperation(name, operation, servable.filter((capability) => serves.has(capability)));
}
