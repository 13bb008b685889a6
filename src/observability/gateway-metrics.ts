import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RequestOutcome } from '../data/proxy/request-outcome.ts';
import { DeploymentGauges, type DeploymentReading } from './deployment-gauges.ts';

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * Switchyard's Prometheus metrics. Labels stay bounded: model and server
 * names come from the registered fleet (a name a caller made up is counted as
 * `unknown`), status is the HTTP code, error types are our stable codes.
 */
export class GatewayMetrics {
  readonly requests: Counter<'model' | 'server' | 'route' | 'status' | 'api'>;
  readonly duration: Histogram<'model' | 'server' | 'route'>;
  readonly timeToFirstToken: Histogram<'model' | 'server'>;
  readonly tokens: Counter<'direction' | 'model' | 'server'>;
  readonly concurrent: Gauge<'model'>;
  readonly errors: Counter<'error_type'>;
  readonly routingDecisions: Counter<'strategy'>;
  readonly failovers: Counter<'model'>;
  readonly retries: Counter<'model'>;
  readonly serverUp: Gauge<'server'>;
  readonly serverUsable: Gauge<'server'>;
  readonly serverStatus: Gauge<'server' | 'status'>;
  readonly healthCheckDuration: Histogram<'server'>;
  readonly circuitState: Gauge<'server' | 'model'>;
  readonly deploymentCapacity: Gauge<'server' | 'model'>;
  readonly budgetUsed: Gauge<'key_id'>;

  constructor(
    registry: Registry,
    live: {
      /** Every deployment once (the model index's cached list). */
      deployments: () => readonly DeploymentReading[];
      /** Keys with a token budget and the share of it used (0..1). */
      budgets?: () => Promise<Array<{ keyId: string; usedRatio: number }>>;
    },
  ) {
    const gauges = new DeploymentGauges(live.deployments);
    const budgets = live.budgets ?? (async () => []);
    const registers = [registry];
    this.requests = new Counter({ name: 'llm_requests_total', help: 'Inference requests, by served model, server, route, HTTP status and the API they came in on (openai, ollama, anthropic, responses, rest).', labelNames: ['model', 'server', 'route', 'status', 'api'], registers });
    this.duration = new Histogram({ name: 'llm_request_duration_seconds', help: 'Whole request time, from arrival to the last byte.', labelNames: ['model', 'server', 'route'], buckets: latencyBuckets, registers });
    this.timeToFirstToken = new Histogram({ name: 'llm_time_to_first_token_seconds', help: 'Time from arrival to the first byte of the answer (first token when streaming).', labelNames: ['model', 'server'], buckets: latencyBuckets, registers });
    this.tokens = new Counter({ name: 'llm_tokens_total', help: 'Tokens used, by direction (prompt or completion).', labelNames: ['direction', 'model', 'server'], registers });
    this.concurrent = new Gauge({
      name: 'llm_concurrent_requests',
      help: 'Requests in flight from Switchyard to model servers, by model.',
      labelNames: ['model'],
      registers,
      collect() {
        gauges.updateInflight(this);
      },
    });
    this.errors = new Counter({ name: 'llm_errors_total', help: 'Failed requests by error type.', labelNames: ['error_type'], registers });
    this.routingDecisions = new Counter({ name: 'llm_routing_decisions_total', help: 'Routing decisions by strategy.', labelNames: ['strategy'], registers });
    this.failovers = new Counter({ name: 'llm_failover_events_total', help: 'Requests answered by another deployment after one failed.', labelNames: ['model'], registers });
    this.retries = new Counter({ name: 'llm_retries_total', help: 'Extra attempts made before the first byte.', labelNames: ['model'], registers });
    this.serverUp = new Gauge({ name: 'model_server_up', help: '1 when the server answers (online or degraded, misconfigured included), 0 when offline or unknown.', labelNames: ['server'], registers });
    this.serverUsable = new Gauge({
      name: 'model_server_usable',
      help: '1 when requests can be sent to the server: active, answering, its key accepted and serving models. 0 for a server that answers but is unusable (misconfigured, no models) or is down.',
      labelNames: ['server'],
      registers,
    });
    this.serverStatus = new Gauge({ name: 'model_server_status', help: 'The server\'s status, one series per status, 1 for the current one.', labelNames: ['server', 'status'], registers });
    this.healthCheckDuration = new Histogram({ name: 'model_server_health_check_duration_seconds', help: 'Duration of health probes.', labelNames: ['server'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
    this.circuitState = new Gauge({
      name: 'llm_circuit_state',
      help: 'Circuit breaker per deployment: 0 closed, 1 open, 2 half-open.',
      labelNames: ['server', 'model'],
      registers,
      collect() {
        gauges.updateCircuits(this);
      },
    });
    this.deploymentCapacity = new Gauge({
      name: 'llm_deployment_capacity',
      help: 'Requests each deployment can run at once: its server\'s max_concurrency, else what the server reports (llama.cpp slots, TEI max_concurrent_requests), else what the gateway learned (vLLM: the most seen running while it queued); no series when unknown.',
      labelNames: ['server', 'model'],
      registers,
      collect() {
        gauges.updateCapacity(this);
      },
    });
    this.budgetUsed = new Gauge({
      name: 'llm_key_budget_used_ratio',
      help: 'Share of its token budget each key with a budget has used (1 = exhausted).',
      labelNames: ['key_id'],
      registers,
      async collect() {
        this.reset();
        for (const entry of await budgets()) this.set({ key_id: entry.keyId }, entry.usedRatio);
      },
    });
  }

  observe(outcome: RequestOutcome): void {
    const model = outcome.servedModel ?? 'unknown';
    const server = outcome.serverName ?? 'none';
    const route = outcome.route ?? 'direct';
    this.requests.inc({ model, server, route, status: String(outcome.status), api: outcome.api });
    this.duration.observe({ model, server, route }, outcome.latencyMs / 1000);
    if (outcome.ttftMs !== null) this.timeToFirstToken.observe({ model, server }, outcome.ttftMs / 1000);
    if (outcome.promptTokens > 0) this.tokens.inc({ direction: 'prompt', model, server }, outcome.promptTokens);
    if (outcome.completionTokens > 0) this.tokens.inc({ direction: 'completion', model, server }, outcome.completionTokens);
    if (outcome.errorType !== null) this.errors.inc({ error_type: outcome.errorType });
    if (outcome.strategy !== null) this.routingDecisions.inc({ strategy: outcome.strategy });
    if (outcome.attempts > 1) {
      this.retries.inc({ model }, outcome.attempts - 1);
      if (outcome.status < 400 && outcome.errorType === null) this.failovers.inc({ model });
    }
  }
}

/** What model_server_status reports: the health status, with a rejected key told apart from other degradations. */
export const serverStatuses = ['online', 'degraded', 'misconfigured', 'offline', 'unknown'] as const;
type ServerStatus = (typeof serverStatuses)[number];

interface ServerReading {
  name: string;
  isActive: boolean;
  healthStatus: string;
  statusReason: string | null;
  lastLatencyMs: number | null;
}

function statusOf(server: ServerReading): ServerStatus {
  if (server.statusReason === 'misconfigured') return 'misconfigured';
  return (serverStatuses as readonly string[]).includes(server.healthStatus) ? (server.healthStatus as ServerStatus) : 'unknown';
}

/** Keeps model_server_up, _usable, _status and the probe-duration histogram current from fleet events. */
export function serverMetricsListener(metrics: GatewayMetrics) {
  return (event: { type: string; server: ServerReading }): void => {
    const server = event.server.name;
    if (event.type === 'server.deleted') {
      metrics.serverUp.remove({ server });
      metrics.serverUsable.remove({ server });
      metrics.healthCheckDuration.remove({ server });
      for (const status of serverStatuses) metrics.serverStatus.remove({ server, status });
      return;
    }
    if (event.type === 'server.checked' || event.type === 'server.status_changed' || event.type === 'server.created' || event.type === 'server.updated') {
      const status = statusOf(event.server);
      const answers = event.server.healthStatus === 'online' || event.server.healthStatus === 'degraded';
      metrics.serverUp.set({ server }, answers ? 1 : 0);
      // A server with no models answers but can serve nothing; a paused (inactive) one gets no traffic.
      const usable = answers && status !== 'misconfigured' && event.server.statusReason !== 'no_models' && event.server.isActive;
      metrics.serverUsable.set({ server }, usable ? 1 : 0);
      for (const each of serverStatuses) metrics.serverStatus.set({ server, status: each }, each === status ? 1 : 0);
      if (event.type === 'server.checked' && event.server.lastLatencyMs !== null) {
        metrics.healthCheckDuration.observe({ server }, event.server.lastLatencyMs / 1000);
      }
    }
  };
}
