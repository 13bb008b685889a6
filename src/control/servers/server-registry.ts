import { randomUUID } from 'node:crypto';
import { modelHoldDetail, type ExpectedModel, type ManagedBy, type ModelHold, type ModelServer, type ServerDetection, type ServerModel } from '../../domain/model-server.ts';
import { undetectedKind, type ServerKind } from '../../domain/server-kind.ts';
import type { LoadMetrics } from '../../data/adapters/server-adapter.ts';
import { findServerKind } from '../../data/adapters/server-kinds.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { RedactedSecret } from '../../security/redacted-secret.ts';
import type { SecretBox } from '../../security/secret-box.ts';
import type { StoredServer } from '../../storage/server-rows.ts';
import type { CheckWrite, ServerStore } from '../../storage/server-store.ts';
import type { FleetEvent, FleetListener } from './server-events.ts';
import { normalizeBaseUrl, validateServerName } from './server-input.ts';
import { serverAuditView } from './server-audit-view.ts';
import { checkKindConfig, requestedKind } from './kind-input.ts';
import type { Actor } from '../../domain/audit.ts';

export interface ServerSettingsInput {
  name?: string;
  server_type?: ServerKind | 'auto';
  /** The kind's per-server settings (the `custom` kind's API); undefined keeps what is stored. */
  kind_config?: Record<string, unknown> | null;
  base_url?: string;
  /** undefined keeps the stored key, null clears it. */
  api_key?: string | null;
  is_active?: boolean;
  metadata?: Record<string, unknown>;
  health_check_interval_s?: number;
  /** null: learned from the server. */
  max_concurrency?: number | null;
  expected_models?: ExpectedModel[];
}

export type CreateServerInput = ServerSettingsInput & { name: string; base_url: string; managed_by?: ManagedBy };

/** The status a server starts with when it was registered although detection failed. */
export type UndetectedState = Pick<ModelServer, 'healthStatus' | 'statusReason' | 'statusMessage' | 'consecutiveFailures'>;

export interface CreateOptions {
  /**
   * For `auto`: when detection fails, register the server anyway as kind
   * `unknown` with the state this returns (for the error), instead of
   * failing; the health loop detects the kind when the server answers.
   */
  onDetectionFailure?: (error: unknown) => UndetectedState | null;
}

export interface UpdateOptions extends CreateOptions {
  /** For the fleet file taking over a server of the same name; the API never passes it. */
  managedBy?: ManagedBy;
}

/** Finds the kind of server at a URL (for `server_type: auto`). */
export type KindDetector = (baseUrl: string, apiKey: string | null) => Promise<{ kind: ServerKind; detection: ServerDetection }>;

export interface ServerRegistryOptions {
  store: ServerStore;
  secretBox: SecretBox;
  detectKind: KindDetector;
  defaultIntervalS: number;
  /** Rejects a base URL whose host the network policy denies (SSRF). */
  checkUrl?: (url: string) => Promise<void>;
}

/**
 * The fleet in memory, backed by storage. Reads never touch storage; every
 * change is committed before it is visible here or announced to listeners.
 */
export class ServerRegistry {
  readonly #options: ServerRegistryOptions;
  readonly #servers = new Map<string, ModelServer>();
  readonly #models = new Map<string, Map<string, ServerModel>>();
  // Bumped on every settings change, so a health check started before it is discarded.
  readonly #revisions = new Map<string, number>();
  readonly #listeners = new Set<FleetListener>();
  // Latest load each server reported (its own queue feeds routing).
  readonly #loads = new Map<string, LoadMetrics>();

  constructor(options: ServerRegistryOptions) {
    this.#options = options;
  }

  async load(): Promise<void> {
    const [servers, models] = await Promise.all([this.#options.store.listServers(), this.#options.store.listModels()]);
    this.#servers.clear();
    this.#models.clear();
    for (const stored of servers) {
      this.#servers.set(stored.id, this.#unseal(stored));
      this.#models.set(stored.id, new Map());
    }
    for (const model of models) this.#models.get(model.serverId)?.set(model.modelId, model);
  }

  list(): ModelServer[] {
    return [...this.#servers.values()];
  }

  get(id: string): ModelServer | undefined {
    return this.#servers.get(id);
  }

  getByName(name: string): ModelServer | undefined {
    for (const server of this.#servers.values()) if (server.name === name) return server;
    return undefined;
  }

  require(id: string): ModelServer {
    const server = this.#servers.get(id);
    if (server === undefined) throw errors.notFound(`Model server ${id}`);
    return server;
  }

  modelsOf(id: string): ServerModel[] {
    return [...(this.#models.get(id)?.values() ?? [])];
  }

  loadOf(id: string): LoadMetrics | undefined {
    return this.#loads.get(id);
  }

  revisionOf(id: string): number {
    return this.#revisions.get(id) ?? 0;
  }

  onEvent(listener: FleetListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async create(input: CreateServerInput, actor?: Actor, options: CreateOptions = {}): Promise<ModelServer> {
    const name = validateServerName(input.name);
    this.#assertNameFree(name, null);
    const baseUrl = normalizeBaseUrl(input.base_url);
    await this.#options.checkUrl?.(baseUrl);
    const apiKey = input.api_key ?? null;
    const requested = requestedKind(input.server_type ?? 'auto');
    // Settings are checked before detection: a bad kind_config needs no round trip to answer.
    if (requested !== 'auto') checkKindConfig(requested, input.kind_config);
    let undetected: UndetectedState | null = null;
    const { kind, detection } = await this.#resolveKind(requested, baseUrl, apiKey).catch((error: unknown) => {
      undetected = options.onDetectionFailure?.(error) ?? null;
      if (undetected === null) throw error;
      return { kind: undetectedKind, detection: null };
    });
    const kindConfig = kind === undetectedKind ? (input.kind_config ?? null) : checkKindConfig(kind, input.kind_config);
    const now = new Date().toISOString();
    const server: ModelServer = {
      id: randomUUID(),
      name,
      serverType: kind,
      kindConfig,
      baseUrl,
      apiKey: apiKey === null ? null : new RedactedSecret(apiKey),
      isActive: input.is_active ?? true,
      healthStatus: 'unknown',
      statusReason: null,
      statusMessage: null,
      consecutiveFailures: 0,
      capabilities: [],
      metadata: input.metadata ?? {},
      expectedModels: input.expected_models ?? [],
      detection,
      healthCheckIntervalS: input.health_check_interval_s ?? this.#options.defaultIntervalS,
      maxConcurrency: input.max_concurrency ?? null,
      managedBy: input.managed_by ?? 'api',
      lastHealthCheck: null,
      lastLatencyMs: null,
      createdAt: now,
      updatedAt: now,
      ...(undetected ?? {}),
    };
    const audit = actor === undefined ? undefined : { actor, action: 'server.create', targetType: 'server' as const, targetId: server.id, before: null, after: serverAuditView(server) };
    await this.#guardUnique(name, () => this.#options.store.insertServer(this.#seal(server), audit));
    this.#servers.set(server.id, server);
    this.#models.set(server.id, new Map());
    this.#emit({ type: 'server.created', server });
    return server;
  }

  async update(id: string, input: ServerSettingsInput, actor?: Actor, options: UpdateOptions = {}): Promise<ModelServer> {
    const current = this.require(id);
    const next: ModelServer = { ...current };
    if (options.managedBy !== undefined) next.managedBy = options.managedBy;
    if (input.name !== undefined) {
      next.name = validateServerName(input.name);
      this.#assertNameFree(next.name, id);
    }
    if (input.base_url !== undefined) {
      next.baseUrl = normalizeBaseUrl(input.base_url);
      await this.#options.checkUrl?.(next.baseUrl);
    }
    // A stored key goes only to the origin it was given for: moving the server elsewhere
    // without a new key drops the old one rather than handing it to a new host.
    if (input.api_key === undefined && new URL(next.baseUrl).origin !== new URL(current.baseUrl).origin) next.apiKey = null;
    if (input.api_key !== undefined) next.apiKey = input.api_key === null ? null : new RedactedSecret(input.api_key);
    if (input.is_active !== undefined) next.isActive = input.is_active;
    if (input.metadata !== undefined) next.metadata = input.metadata;
    if (input.health_check_interval_s !== undefined) next.healthCheckIntervalS = input.health_check_interval_s;
    if (input.max_concurrency !== undefined) next.maxConcurrency = input.max_concurrency;
    if (input.expected_models !== undefined) next.expectedModels = input.expected_models;
    const kind = input.server_type === undefined ? undefined : requestedKind(input.server_type);
    if (kind !== undefined && kind !== 'auto' && input.kind_config !== undefined) checkKindConfig(kind, input.kind_config);
    let undetected: UndetectedState | null = null;
    if (kind === 'auto' || (kind !== undefined && kind !== current.serverType)) {
      const resolved = await this.#resolveKind(kind, next.baseUrl, next.apiKey?.reveal() ?? null).catch((error: unknown) => {
        undetected = options.onDetectionFailure?.(error) ?? null;
        if (undetected === null) throw error;
        return { kind: undetectedKind, detection: null };
      });
      next.serverType = resolved.kind;
      next.detection = resolved.detection;
    }
    if (input.kind_config !== undefined || next.serverType !== current.serverType) {
      // A kind without settings drops the old kind's; one with settings must be given them.
      const raw = input.kind_config === undefined ? (findServerKind(next.serverType)?.config === undefined ? null : current.kindConfig) : input.kind_config;
      // An undetected server's settings wait, unchecked, for its kind to judge them.
      next.kindConfig = next.serverType === undetectedKind ? (raw ?? null) : checkKindConfig(next.serverType, raw);
    }
    const connectionChanged =
      next.baseUrl !== current.baseUrl ||
      next.apiKey?.reveal() !== current.apiKey?.reveal() ||
      next.serverType !== current.serverType ||
      JSON.stringify(next.kindConfig) !== JSON.stringify(current.kindConfig);
    if (connectionChanged) {
      // What we knew about the old connection no longer holds.
      Object.assign(next, { healthStatus: 'unknown', statusReason: null, statusMessage: null, consecutiveFailures: 0 }, undetected ?? {});
    }
    next.updatedAt = new Date().toISOString();
    // Bump first: a check already running must not write the old connection's status after this.
    this.#revisions.set(id, this.revisionOf(id) + 1);
    const audit = actor === undefined ? undefined : { actor, action: 'server.update', targetType: 'server' as const, targetId: id, before: serverAuditView(current), after: serverAuditView(next) };
    await this.#guardUnique(next.name, () => this.#options.store.updateServerSettings(this.#seal(next), connectionChanged, audit));
    this.#servers.set(id, next);
    // The old connection's load (its queue, what was learned of its capacity) is not this one's.
    if (connectionChanged) this.#loads.delete(id);
    this.#emit({ type: 'server.updated', server: next, connectionChanged });
    return next;
  }

  /**
   * Detects the kind of a server registered as `unknown` and stores it (a
   * detection failure throws, and the server stays as it was). Announced as a
   * connection change, so what is known about it is read afresh.
   */
  async settleKind(id: string): Promise<ModelServer> {
    const current = this.require(id);
    if (current.serverType !== undetectedKind) return current;
    const { kind, detection } = await this.#options.detectKind(current.baseUrl, current.apiKey?.reveal() ?? null);
    const latest = this.require(id);
    // Changed while detecting (an edit, a removal, a second detection): that change wins.
    if (latest !== current) return latest;
    const next: ModelServer = { ...current, serverType: kind, detection, kindConfig: checkKindConfig(kind, current.kindConfig), updatedAt: new Date().toISOString() };
    this.#revisions.set(id, this.revisionOf(id) + 1);
    await this.#options.store.updateServerSettings(this.#seal(next), false);
    this.#servers.set(id, next);
    this.#emit({ type: 'server.updated', server: next, connectionChanged: true });
    return next;
  }

  async remove(id: string, actor?: Actor): Promise<void> {
    const server = this.require(id);
    const audit = actor === undefined ? undefined : { actor, action: 'server.delete', targetType: 'server' as const, targetId: id, before: serverAuditView(server), after: null };
    await this.#options.store.deleteServer(id, audit);
    this.#servers.delete(id);
    this.#models.delete(id);
    this.#loads.delete(id);
    this.#revisions.set(id, this.revisionOf(id) + 1);
    this.#emit({ type: 'server.deleted', server });
  }

  /**
   * Commits a health check's outcome, unless the server changed or vanished
   * while it ran (then the outcome describes a connection that is gone).
   */
  async applyCheck(
    id: string,
    revision: number,
    update: Omit<CheckWrite, 'server'> & { server: ModelServer; load: LoadMetrics | null },
  ): Promise<boolean> {
    const current = this.#servers.get(id);
    if (current === undefined || this.revisionOf(id) !== revision) return false;
    const { load, ...write } = update;
    await this.#options.store.recordCheck({ ...write, server: this.#seal(update.server) });
    if (this.revisionOf(id) !== revision || !this.#servers.has(id)) return false;
    const models = this.#models.get(id) ?? new Map<string, ServerModel>();
    for (const modelId of update.removedModelIds) models.delete(modelId);
    const added = update.upsertModels.filter((model) => !models.has(model.modelId));
    for (const model of update.upsertModels) models.set(model.modelId, model);
    this.#models.set(id, models);
    if (load !== null) this.#loads.set(id, load);
    const server = { ...current, ...pickStatus(update.server) };
    this.#servers.set(id, server);
    if (current.healthStatus !== server.healthStatus) {
      this.#emit({ type: 'server.status_changed', server, from: current.healthStatus, to: server.healthStatus });
    }
    for (const model of added) this.#emit({ type: 'model.added', server, model });
    for (const modelId of update.removedModelIds) this.#emit({ type: 'model.removed', server, modelId });
    this.#emit({ type: 'server.checked', server });
    return true;
  }

  /**
   * Catches up with another replica's change to one server (its settings, a
   * probe's outcome, its removal): reads it from storage and announces the
   * difference as `remote` events, the same ones a local change gives. `load`
   * is what the probing replica read of the server's queue (not stored).
   */
  async refresh(id: string, load: LoadMetrics | null = null): Promise<void> {
    const revision = this.revisionOf(id);
    const [stored, models] = await Promise.all([this.#options.store.getServer(id), this.#options.store.listModelsOf(id)]);
    // A change made here while reading is newer than what was read.
    if (this.revisionOf(id) !== revision) return;
    this.#catchUp(id, stored, models, load);
  }

  /** Catches up with every server at once (this replica may have missed messages). */
  async refreshAll(): Promise<void> {
    const revisions = new Map(this.#revisions);
    const [servers, models] = await Promise.all([this.#options.store.listServers(), this.#options.store.listModels()]);
    const modelsByServer = new Map<string, ServerModel[]>();
    for (const model of models) {
      const list = modelsByServer.get(model.serverId);
      if (list === undefined) modelsByServer.set(model.serverId, [model]);
      else list.push(model);
    }
    const stored = new Map(servers.map((server) => [server.id, server]));
    for (const id of new Set([...this.#servers.keys(), ...stored.keys()])) {
      if ((revisions.get(id) ?? 0) !== this.revisionOf(id)) continue;
      this.#catchUp(id, stored.get(id), modelsByServer.get(id) ?? [], null);
    }
  }

  #catchUp(id: string, stored: StoredServer | undefined, models: ServerModel[], load: LoadMetrics | null): void {
    const current = this.#servers.get(id);
    if (stored === undefined) {
      if (current === undefined) return;
      this.#servers.delete(id);
      this.#models.delete(id);
      this.#loads.delete(id);
      this.#revisions.set(id, this.revisionOf(id) + 1);
      this.#emit({ type: 'server.deleted', server: current, remote: true });
      return;
    }
    const server = this.#unseal(stored);
    const before = this.#models.get(id) ?? new Map<string, ServerModel>();
    const after = new Map(models.map((model) => [model.modelId, model]));
    this.#servers.set(id, server);
    this.#models.set(id, after);
    if (current === undefined) {
      if (load !== null) this.#loads.set(id, load);
      this.#emit({ type: 'server.created', server, remote: true });
      return;
    }
    const settingsChanged = current.updatedAt !== server.updatedAt;
    const connectionChanged =
      server.baseUrl !== current.baseUrl ||
      server.apiKey?.reveal() !== current.apiKey?.reveal() ||
      server.serverType !== current.serverType ||
      JSON.stringify(server.kindConfig) !== JSON.stringify(current.kindConfig);
    // A check this replica has under way describes the old settings.
    if (settingsChanged) this.#revisions.set(id, this.revisionOf(id) + 1);
    if (load !== null) this.#loads.set(id, load);
    else if (connectionChanged) this.#loads.delete(id);
    if (settingsChanged) this.#emit({ type: 'server.updated', server, connectionChanged, remote: true });
    if (current.healthStatus !== server.healthStatus) this.#emit({ type: 'server.status_changed', server, from: current.healthStatus, to: server.healthStatus, remote: true });
    for (const model of after.values()) if (!before.has(model.modelId)) this.#emit({ type: 'model.added', server, model, remote: true });
    for (const modelId of before.keys()) if (!after.has(modelId)) this.#emit({ type: 'model.removed', server, modelId, remote: true });
    if (load !== null || current.lastHealthCheck !== server.lastHealthCheck) this.#emit({ type: 'server.checked', server, remote: true });
  }

  /**
   * Live traffic found the stored key rejected (401/403): show it on the
   * server now rather than at the next probe, and keep it out of routing.
   */
  /** Returns the server it marked, or null when there was nothing to change (unknown, or already marked). */
  async markMisconfigured(id: string, message: string): Promise<ModelServer | null> {
    const current = this.#servers.get(id);
    if (current === undefined || current.statusReason === 'misconfigured') return null;
    const server: ModelServer = { ...current, healthStatus: 'degraded', statusReason: 'misconfigured', statusMessage: message, consecutiveFailures: 0 };
    await this.#options.store.updateServerStatus(this.#seal(server));
    if (this.#servers.get(id) !== current) return null;
    this.#servers.set(id, server);
    this.#emit({ type: 'server.status_changed', server, from: current.healthStatus, to: server.healthStatus });
    return server;
  }

  /**
   * Live traffic found a model on this server answering wrong (an embedding
   * of another dimension): routing skips it (see isRoutable) and its model
   * record says why, until the server's next health check writes the model
   * afresh. Memory only: a restart or a probe gives it another chance.
   */
  holdModel(id: string, modelId: string, hold: ModelHold): ServerModel | null {
    const server = this.#servers.get(id);
    const model = this.#models.get(id)?.get(modelId);
    if (server === undefined || model === undefined) return null;
    const held: ServerModel = { ...model, details: { ...model.details, [modelHoldDetail]: hold } };
    (this.#models.get(id) as Map<string, ServerModel>).set(modelId, held);
    this.#emit({ type: 'model.held', server, model: held });
    return held;
  }

  /** A connection test touches only the time (and latency) of the last check. */
  async recordTest(id: string, at: string, latencyMs: number): Promise<void> {
    const current = this.#servers.get(id);
    if (current === undefined) return;
    const server = { ...current, lastHealthCheck: at, lastLatencyMs: latencyMs };
    await this.#options.store.updateServerStatus(this.#seal(server));
    if (this.#servers.has(id)) this.#servers.set(id, { ...(this.#servers.get(id) as ModelServer), lastHealthCheck: at, lastLatencyMs: latencyMs });
  }

  async #resolveKind(requested: ServerKind | 'auto', baseUrl: string, apiKey: string | null) {
    if (requested !== 'auto') return { kind: requested, detection: null };
    return this.#options.detectKind(baseUrl, apiKey);
  }

  #assertNameFree(name: string, exceptId: string | null): void {
    const existing = this.getByName(name);
    if (existing !== undefined && existing.id !== exceptId) {
      throw errors.conflict(`A model server named "${name}" already exists.`, 'name');
    }
  }

  async #guardUnique(name: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (isUniqueViolation(error)) throw errors.conflict(`A model server named "${name}" already exists.`, 'name');
      throw error;
    }
  }

  #seal(server: ModelServer): StoredServer {
    const { apiKey, ...rest } = server;
    return { ...rest, apiKeyCiphertext: apiKey === null ? null : this.#options.secretBox.encrypt(apiKey.reveal()) };
  }

  #unseal(stored: StoredServer): ModelServer {
    const { apiKeyCiphertext, ...rest } = stored;
    return {
      ...rest,
      apiKey: apiKeyCiphertext === null ? null : new RedactedSecret(this.#options.secretBox.decrypt(apiKeyCiphertext)),
    };
  }

  #emit(event: FleetEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the change is already committed.
      }
    }
  }
}

function pickStatus(server: ModelServer): Partial<ModelServer> {
  return {
    healthStatus: server.healthStatus,
    statusReason: server.statusReason,
    statusMessage: server.statusMessage,
    consecutiveFailures: server.consecutiveFailures,
    capabilities: server.capabilities,
    lastHealthCheck: server.lastHealthCheck,
    lastLatencyMs: server.lastLatencyMs,
  };
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // SQLite (better-sqlite3) and PostgreSQL codes for a unique constraint.
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
