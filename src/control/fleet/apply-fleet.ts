import type { FastifyBaseLogger } from 'fastify';
import { toFleetModel, type FleetFile, type FleetServer } from '../../config/fleet-file.ts';
import type { ModelServer } from '../../domain/model-server.ts';
import { systemActor } from '../../domain/audit.ts';
import type { ServerRegistry, ServerSettingsInput, UndetectedState } from '../servers/server-registry.ts';
import { undetectedKind } from '../../domain/server-kind.ts';
import { classifyDetectionFailure } from '../health/classify-failure.ts';
import { nextHealthState } from '../health/health-transition.ts';
import type { RouteRegistry } from '../routes/route-registry.ts';
import type { CachePolicyRegistry } from '../cache/cache-policy-registry.ts';
import { defaultSimilarity } from '../../domain/cache-policy.ts';
import { normalizeBaseUrl } from '../servers/server-input.ts';
import { checkKindConfig } from '../servers/kind-input.ts';

const fleetActor = systemActor('fleet-file');

export interface FleetApplyReport {
  created: string[];
  updated: string[];
  removed: string[];
  unchanged: string[];
  failed: Array<{ name: string; error: string }>;
  /** Created without `server_type` while not answering: kind `unknown` until the health loop detects it. */
  undetected: string[];
  routes: string[];
}

/**
 * Makes the registry match a declarative fleet file: servers in the file are
 * created or updated by name; servers the file created earlier and no longer
 * lists are removed. Servers added over the API or found by discovery are
 * left alone. A server that does not answer is registered all the same (as
 * kind `unknown` when the file names no `server_type`) and shown offline, so
 * the operator sees it; the health loop brings it online. A server that
 * cannot be applied (a bad setting) is reported and skipped; the rest still apply.
 */
export async function applyFleet(fleet: FleetFile, registry: ServerRegistry, routes: RouteRegistry, log: FastifyBaseLogger, cachePolicies?: CachePolicyRegistry): Promise<FleetApplyReport> {
  const report: FleetApplyReport = { created: [], updated: [], removed: [], unchanged: [], failed: [], undetected: [], routes: [] };
  const names = new Set(fleet.servers.map((server) => server.name));
  for (const entry of fleet.servers) {
    try {
      const existing = registry.getByName(entry.name);
      const settings = toSettings(entry);
      const onDetectionFailure = (error: unknown) => undetectedState(error, settings.api_key !== null);
      if (existing === undefined) {
        const created = await registry.create({ ...settings, name: entry.name, base_url: entry.base_url, managed_by: 'fleet' }, fleetActor, { onDetectionFailure });
        report.created.push(entry.name);
        if (created.serverType === undetectedKind) {
          report.undetected.push(entry.name);
          log.warn({ server: entry.name, status: created.healthStatus, reason: created.statusMessage }, 'fleet file: server not answering; registered, and it comes online when it answers');
        }
      } else if (differs(existing, settings)) {
        // A server of the same name made over the API becomes the file's: the file wins at every start anyway.
        await registry.update(existing.id, keepKnownKind(existing, settings), fleetActor, { managedBy: 'fleet', onDetectionFailure });
        report.updated.push(entry.name);
      } else {
        report.unchanged.push(entry.name);
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      report.failed.push({ name: entry.name, error: message });
      log.error({ server: entry.name, err: message }, 'fleet file: server not applied');
    }
  }
  for (const server of registry.list()) {
    if (server.managedBy === 'fleet' && !names.has(server.name)) {
      await registry.remove(server.id, fleetActor);
      report.removed.push(server.name);
    }
  }
  await applyRoutes(fleet, routes, report, log);
  if (cachePolicies !== undefined) await applyCachePolicies(fleet, cachePolicies, report, log);
  log.info({ ...report, failed: report.failed.length }, 'fleet file applied');
  return report;
}

/** Routes follow the same rule as servers: upsert by name, remove what the file made and dropped. */
async function applyRoutes(fleet: FleetFile, routes: RouteRegistry, report: FleetApplyReport, log: FastifyBaseLogger): Promise<void> {
  const names = new Set(fleet.routes.map((route) => route.name));
  for (const entry of fleet.routes) {
    const input = { strategy: entry.strategy ?? null, targets: entry.targets, fallbacks: entry.fallbacks ?? [] };
    try {
      const existing = routes.byName(entry.name);
      if (existing === undefined) await routes.create({ ...input, name: entry.name }, 'fleet', fleetActor);
      else await routes.update(existing.id, input, fleetActor, 'fleet');
      report.routes.push(entry.name);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      report.failed.push({ name: `route ${entry.name}`, error: message });
      log.error({ route: entry.name, err: message }, 'fleet file: route not applied');
    }
  }
  for (const route of routes.list()) {
    if (route.managedBy === 'fleet' && !names.has(route.name)) await routes.remove(route.id, fleetActor);
  }
}

/** Cache policies follow the same rule: upsert by name, remove what the file made and dropped. */
async function applyCachePolicies(fleet: FleetFile, policies: CachePolicyRegistry, report: FleetApplyReport, log: FastifyBaseLogger): Promise<void> {
  for (const [name, entry] of Object.entries(fleet.cachePolicies)) {
    try {
      const current = policies.byName(name);
      const same = current !== undefined && current.managedBy === 'fleet' && current.mode === entry.mode && current.ttlS === entry.ttl_s && current.scope === (entry.scope ?? 'key') &&
        (entry.mode === 'exact' || (current.similarity === (entry.similarity ?? defaultSimilarity) && current.embeddingModel === (entry.embedding_model ?? null)));
      // A restart with the same file writes nothing.
      if (!same) await policies.put(name, entry, { managedBy: 'fleet', actor: fleetActor });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      report.failed.push({ name: `cache policy ${name}`, error: message });
      log.error({ cache_policy: name, err: message }, 'fleet file: cache policy not applied');
    }
  }
  for (const policy of policies.list()) {
    if (policy.managedBy === 'fleet' && fleet.cachePolicies[policy.name] === undefined) await policies.remove(policy.name, fleetActor);
  }
}

/** The status of a server whose detection failed at start: what a failed first check would give it, offline at once. */
function undetectedState(error: unknown, hasApiKey: boolean): UndetectedState | null {
  const outcome = classifyDetectionFailure(error, hasApiKey);
  if (outcome === null) return null;
  return nextHealthState({ healthStatus: 'unknown', statusReason: null, statusMessage: null, consecutiveFailures: 0 }, outcome, 1);
}

/**
 * `auto` asks for detection only when the connection changed: a new `models:`
 * list for a server that is down must not fail on detecting it again.
 */
function keepKnownKind(server: ModelServer, settings: ServerSettingsInput): ServerSettingsInput {
  if (settings.server_type !== 'auto') return settings;
  const sameConnection = normalizeBaseUrl(settings.base_url ?? server.baseUrl) === server.baseUrl && (settings.api_key ?? null) === (server.apiKey?.reveal() ?? null);
  if (!sameConnection) return settings;
  const { server_type: _detectAgain, ...rest } = settings;
  return rest;
}

function toSettings(entry: FleetServer): ServerSettingsInput {
  return {
    server_type: entry.server_type ?? 'auto',
    kind_config: entry.kind_config ?? null,
    base_url: entry.base_url,
    api_key: entry.api_key === undefined || entry.api_key === '' ? null : entry.api_key,
    is_active: entry.is_active ?? true,
    metadata: entry.metadata ?? {},
    expected_models: (entry.models ?? []).map(toFleetModel),
    ...(entry.health_check_interval_s === undefined ? {} : { health_check_interval_s: entry.health_check_interval_s }),
    // The file is the truth for the servers it manages: a max_concurrency taken out of it goes back to learning.
    max_concurrency: entry.max_concurrency ?? null,
  };
}

/** Only real changes are written: a restart with the same file touches nothing. */
function differs(server: ModelServer, settings: ServerSettingsInput): boolean {
  const requestedKind = settings.server_type === 'auto' ? server.serverType : settings.server_type;
  return (
    requestedKind !== server.serverType ||
    JSON.stringify(checkKindConfig(requestedKind, settings.kind_config)) !== JSON.stringify(server.kindConfig) ||
    normalizeBaseUrl(settings.base_url ?? server.baseUrl) !== server.baseUrl ||
    (settings.api_key ?? null) !== (server.apiKey?.reveal() ?? null) ||
    settings.is_active !== server.isActive ||
    JSON.stringify(settings.metadata) !== JSON.stringify(server.metadata) ||
    JSON.stringify(settings.expected_models) !== JSON.stringify(server.expectedModels) ||
    (settings.health_check_interval_s !== undefined && settings.health_check_interval_s !== server.healthCheckIntervalS) ||
    (settings.max_concurrency ?? null) !== server.maxConcurrency ||
    server.managedBy !== 'fleet'
  );
}
