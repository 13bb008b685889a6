import type { ModelServer } from '../../domain/model-server.ts';
import type { IntegrationStatus } from '../../observability/integration-status.ts';

/** One integration as the health answer lists it. */
export interface IntegrationEntry {
  name: string;
  kind: 'storage' | 'redis' | 'otlp' | 'webhooks' | 'model_server';
  /** A required integration down makes the whole answer 503. */
  required: boolean;
  status: IntegrationStatus['status'] | 'unknown';
  last_error: string | null;
  last_error_at: string | null;
  /** A model server's own fields: its id, kind and when it was last checked. */
  detail?: Record<string, unknown>;
}

/** What the gateway asks each integration (each optional one absent when not configured). */
export interface IntegrationSources {
  storage: () => Promise<boolean>;
  storageDialect: 'sqlite' | 'postgres';
  redis: (() => IntegrationStatus) | null;
  /** Where REDIS_URL points (no credentials) and what limits do while it is unreachable (decision 0032). */
  redisDetail?: { target: string; mode: 'single' | 'sentinel' | 'cluster'; failure_mode: 'open' | 'closed' } | null;
  otlp: (() => IntegrationStatus) | null;
  webhooks: () => IntegrationStatus;
  servers: () => readonly ModelServer[];
  /** Usage records not yet in storage: in the in-memory queue, and in the spool on disk (decision 0029). */
  usage?: () => UsageBacklog;
}

export interface UsageBacklog {
  queued: number;
  spooled: number;
}

export interface IntegrationHealth {
  /** `ok`; `degraded` (an optional integration or a model server is not ok); `down` (storage unreachable). */
  status: 'ok' | 'degraded' | 'down';
  checked_at: string;
  integrations: IntegrationEntry[];
  /** Usage records waiting for storage (absent in apps built without a recorder). */
  usage?: UsageBacklog;
}

/**
 * Every integration with its status and last error. Storage is the one
 * required integration (keys, usage and the fleet live there): it being down
 * is `down` (503). Redis, the OTLP exporter, webhooks and model servers only
 * degrade the gateway: limits fail open or closed as configured, traces and
 * deliveries wait, requests go to the servers that answer.
 */
export async function integrationHealth(sources: IntegrationSources): Promise<IntegrationHealth> {
  const integrations: IntegrationEntry[] = [];
  const storageUp = await sources.storage().catch(() => false);
  integrations.push({ name: sources.storageDialect === 'postgres' ? 'PostgreSQL' : 'SQLite', kind: 'storage', required: true, status: storageUp ? 'ok' : 'down', last_error: storageUp ? null : 'storage does not answer', last_error_at: storageUp ? null : new Date().toISOString() });
  const optional = (name: string, kind: IntegrationEntry['kind'], read: (() => IntegrationStatus) | null) => {
    const state: IntegrationStatus = read === null ? { status: 'disabled', lastError: null, lastErrorAt: null } : read();
    integrations.push({ name, kind, required: false, status: state.status, last_error: state.lastError, last_error_at: state.lastErrorAt });
  };
  optional('Redis', 'redis', sources.redis);
  if (sources.redisDetail !== undefined && sources.redisDetail !== null) (integrations.at(-1) as IntegrationEntry).detail = { ...sources.redisDetail };
  optional('OTLP exporter', 'otlp', sources.otlp);
  optional('Webhook delivery', 'webhooks', sources.webhooks);
  for (const server of sources.servers()) {
    if (!server.isActive) continue;
    integrations.push({
      name: server.name,
      kind: 'model_server',
      required: false,
      status: serverStatus(server),
      last_error: server.healthStatus === 'online' ? null : server.statusMessage,
      last_error_at: server.healthStatus === 'online' ? null : server.lastHealthCheck,
      detail: { id: server.id, server_type: server.serverType, health_status: server.healthStatus, status_reason: server.statusReason, last_health_check: server.lastHealthCheck, last_latency_ms: server.lastLatencyMs },
    });
  }
  const overall = !storageUp ? 'down' : integrations.every((entry) => entry.status === 'ok' || entry.status === 'disabled') ? 'ok' : 'degraded';
  return { status: overall, checked_at: new Date().toISOString(), integrations, ...(sources.usage === undefined ? {} : { usage: sources.usage() }) };
}

function serverStatus(server: ModelServer): IntegrationEntry['status'] {
  switch (server.healthStatus) {
    case 'online':
      return 'ok';
    case 'degraded':
      return 'degraded';
    case 'offline':
      return 'down';
    default:
      return 'unknown';
  }
}

/** The answer without a key: each integration's kind and status, no names, messages or ids (they can describe the network). */
export function publicSummary(health: IntegrationHealth): Record<string, unknown> {
  const servers = health.integrations.filter((entry) => entry.kind === 'model_server');
  const count = (status: string) => servers.filter((entry) => entry.status === status).length;
  return {
    status: health.status,
    checked_at: health.checked_at,
    integrations: health.integrations.filter((entry) => entry.kind !== 'model_server').map((entry) => ({ kind: entry.kind, status: entry.status })),
    model_servers: { total: servers.length, ok: count('ok'), degraded: count('degraded'), down: count('down'), unknown: count('unknown') },
  };
}
