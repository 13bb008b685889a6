import type { RedactedSecret } from '../security/redacted-secret.ts';
import type { HealthStatus, ModelCapability, ServerKind } from './server-kind.ts';

/** Why a server is not plainly online; stable codes the console and routing read. */
export type StatusReason =
  | 'unreachable'
  | 'timeout'
  | 'http_error'
  | 'bad_response'
  | 'misconfigured'
  | 'no_models'
  | 'expected_models_missing'
  | null;

export type ManagedBy = 'api' | 'fleet' | 'discovery';

/** A model the operator expects on a server (from the fleet file or the API). */
export interface ExpectedModel {
  name: string;
  capabilities?: ModelCapability[];
  embedding_dimension?: number;
  context_length?: number;
}

export interface ServerDetection {
  requested: 'auto';
  detected_by: string;
  flavor: string | null;
  version: string | null;
}

export interface ModelServer {
  id: string;
  name: string;
  serverType: ServerKind;
  /** Settings the kind takes per server (the `custom` kind's paths and fields); null for most kinds. */
  kindConfig: Record<string, unknown> | null;
  baseUrl: string;
  /** Decrypted in memory only; the store holds ciphertext. */
  apiKey: RedactedSecret | null;
  isActive: boolean;
  healthStatus: HealthStatus;
  statusReason: StatusReason;
  statusMessage: string | null;
  consecutiveFailures: number;
  capabilities: ModelCapability[];
  metadata: Record<string, unknown>;
  expectedModels: ExpectedModel[];
  detection: ServerDetection | null;
  healthCheckIntervalS: number;
  /** Requests it generates at once, as an operator stated it; null: learned from what the server reports. */
  maxConcurrency: number | null;
  managedBy: ManagedBy;
  lastHealthCheck: string | null;
  lastLatencyMs: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface ServerModel {
  serverId: string;
  modelId: string;
  capabilities: ModelCapability[];
  embeddingDimension: number | null;
  contextLength: number | null;
  status: 'loaded' | 'available';
  details: Record<string, unknown>;
  firstSeenAt: string;
  lastSeenAt: string;
}

/**
 * Where a model's capabilities come from, kept in its `details` under
 * `capabilities_from` (so the API shows it and storage keeps it): the server
 * said (`server`: Ollama's /api/show, TEI's /info), the operator configured
 * them (`declared`), the kind serves nothing else (`kind`: embedding and
 * reranker servers), or they were guessed from the name (`name`). Requests a
 * model cannot serve are refused before they are sent only when this is known.
 */
export type CapabilitySource = 'server' | 'declared' | 'kind' | 'name';

export const capabilitySourceDetail = 'capabilities_from';

export function capabilitySourceOf(model: Pick<ServerModel, 'details'>): CapabilitySource | null {
  const source = model.details[capabilitySourceDetail];
  return source === 'server' || source === 'declared' || source === 'kind' || source === 'name' ? source : null;
}

/**
 * Why live traffic took a model on a server out of rotation, kept in the
 * model's `details` under `out_of_rotation` (the API and the console show it)
 * until the server's next health check.
 */
export interface ModelHold {
  reason: 'dimension_mismatch';
  message: string;
  /** ISO time. */
  since: string;
}

export const modelHoldDetail = 'out_of_rotation';

export function isModelHeld(model: Pick<ServerModel, 'details'>): boolean {
  return model.details[modelHoldDetail] !== undefined;
}

/** Other names a model answers to: Ollama's `name:latest` is also `name`. */
export function modelAliases(modelId: string): string[] {
  return modelId.endsWith(':latest') ? [modelId.slice(0, -':latest'.length)] : [];
}

/** True when `name` (as a user or fleet file writes it) names this model. */
export function modelMatches(modelId: string, name: string): boolean {
  return modelId === name || modelAliases(modelId).includes(name) || modelAliases(name).includes(modelId);
}
