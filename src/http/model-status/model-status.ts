import { summarize, type UsageRow, type UsageStatistics } from '../../control/analytics/usage-statistics.ts';
import type { ModelFigures } from '../../control/analytics/rollup-reports.ts';
import type { Deployment } from '../../data/routing/deployment.ts';
import { isRoutable } from '../../data/routing/deployment-picker.ts';

/**
 * One model's status as the integration teams' checks read it: whether a
 * server can take it now, where it is loaded, each server's health, circuit
 * and load, and its last hour of requests (latency, errors).
 */
export function modelStatus(deployments: readonly Deployment[], recent: readonly UsageRow[] | ModelFigures | undefined, now: number): Record<string, unknown> {
  // Raw records of the last hour, or (at volume) the model's rollup figures (decision 0029).
  const rows = Array.isArray(recent) ? (recent as readonly UsageRow[]) : null;
  const figures = rows === null ? (recent as ModelFigures | undefined) : undefined;
  const statistics = rows === null ? (figures?.statistics ?? summarize([])) : summarize(rows);
  const ofServer = (serverId: string): UsageStatistics => (rows === null ? (figures?.servers.get(serverId) ?? summarize([])) : summarize(rows.filter((row) => row.server_id === serverId)));
  const routable = deployments.filter((deployment) => isRoutable(deployment, now));
  return {
    model: deployments[0]?.model.modelId,
    status: routable.length > 0 ? 'available' : 'unavailable',
    loaded: deployments.some((deployment) => deployment.model.status === 'loaded'),
    servers: deployments.map((deployment) => deployment.server.name),
    // The kinds of server that run it (vllm, ollama, …): the integration guide's `provider`.
    provider: [...new Set(deployments.map((deployment) => deployment.server.serverType))].join(',') || null,
    capabilities: [...new Set(deployments.flatMap((deployment) => deployment.model.capabilities))],
    embedding_dimension: firstKnown(deployments, (deployment) => deployment.model.embeddingDimension),
    context_length: firstKnown(deployments, (deployment) => deployment.model.contextLength),
    recent_latency_ms: statistics.p50_latency_ms,
    deployments: deployments.map((deployment) => {
      const serverStats = ofServer(deployment.server.id);
      return {
        server: deployment.server.name,
        server_id: deployment.server.id,
        health_status: deployment.server.healthStatus,
        status_reason: deployment.server.statusReason,
        model_status: deployment.model.status,
        routable: isRoutable(deployment, now),
        circuit: deployment.state.breaker.state,
        in_flight: deployment.state.inflight,
        capacity: deployment.capacity,
        capacity_source: deployment.capacitySource ?? null,
        ttfb_ewma_ms: deployment.state.ttfbEwmaMs,
        tokens_per_second: deployment.state.tokensPerSecondEwma,
        last_hour: { requests: serverStats.requests, error_rate: serverStats.success_rate === null ? null : 1 - serverStats.success_rate, p50_latency_ms: serverStats.p50_latency_ms, p95_latency_ms: serverStats.p95_latency_ms },
      };
    }),
    last_hour: { requests: statistics.requests, error_rate: statistics.success_rate === null ? null : Math.round((1 - statistics.success_rate) * 10_000) / 10_000, p50_latency_ms: statistics.p50_latency_ms, p95_latency_ms: statistics.p95_latency_ms },
  };
}

function firstKnown(deployments: readonly Deployment[], read: (deployment: Deployment) => number | null): number | null {
  for (const deployment of deployments) {
    const value = read(deployment);
    if (value !== null) return value;
  }
  return null;
}

/** What `/models/status/events` announces when it changes. */
export interface ModelStatusChange {
  model: string;
  status: 'available' | 'unavailable' | 'removed';
  loaded: boolean;
  servers: string[];
}

export function statusChange(name: string, deployments: readonly Deployment[], now: number): ModelStatusChange {
  return {
    model: name,
    status: deployments.some((deployment) => isRoutable(deployment, now)) ? 'available' : 'unavailable',
    loaded: deployments.some((deployment) => deployment.model.status === 'loaded'),
    servers: deployments.map((deployment) => deployment.server.name),
  };
}

export function fingerprint(change: ModelStatusChange): string {
  return `${change.status}|${change.loaded}|${change.servers.join(',')}`;
}
