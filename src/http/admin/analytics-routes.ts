import type { FastifyInstance } from 'fastify';
import type { ModelActivation } from '../../control/model-registry/model-activation.ts';
import type { Breach, ModelThresholds } from '../../control/model-registry/model-thresholds.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type {} from '@fastify/swagger';
import type { KeyRing } from '../../auth/key-ring.ts';
import { adminScopeFor, requireScope, type SessionLookup } from '../plugins/authenticate.ts';
import type { ModelBenchmarker } from '../../control/analytics/model-benchmark.ts';
import { categorize, parameterBillions } from '../../control/analytics/model-category.ts';
import { performanceFromFigures, performanceReport, rate } from '../../control/analytics/performance-report.ts';
import { errorBreakdown, groupBy, statisticsOf, summarize, type UsageRow, type UsageStatistics } from '../../control/analytics/usage-statistics.ts';
import { figuresByModel } from '../../control/analytics/rollup-reports.ts';
import { emptyMeasures } from '../../storage/rollups/usage-rollups.ts';
import { keyGroup, keyGroupId } from '../../control/analytics/key-group.ts';
import type { ServerRegistry } from '../../control/servers/server-registry.ts';
import { modelAliases } from '../../domain/model-server.ts';
import type { ModelCapability } from '../../domain/server-kind.ts';
import type { ModelIndex } from '../../data/routing/model-index.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { usageRowLimit, type UsageStore } from '../../storage/usage-store.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Analytics'];

export interface AnalyticsDependencies {
  usage: UsageStore;
  registry: ServerRegistry;
  index: ModelIndex;
  benchmarker: ModelBenchmarker;
  /** Every key's name by id, revoked keys included. */
  keyNames: () => Promise<ReadonlyMap<string, string>>;
  /** Deactivated models (listed, marked inactive). */
  activation?: ModelActivation;
  /** Thresholds and their current violations (listed first in the performance report). */
  thresholds?: ModelThresholds;
}

const UsageQuery = Type.Object(
  { from: Type.Optional(Type.String({ maxLength: 64 })), to: Type.Optional(Type.String({ maxLength: 64 })), group_by: Type.Optional(Type.Enum(['model', 'server', 'key', 'hour', 'api'] as const)) },
  { additionalProperties: false },
);
const HoursQuery = Type.Object({ hours: Type.Optional(Type.String({ maxLength: 6 })) }, { additionalProperties: false });
const ModelParams = Type.Object({ model: Type.String({ minLength: 1, maxLength: 256 }) });
const BenchmarkBody = Type.Object(
  {
    prompts: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4_000 }), { minItems: 1, maxItems: 20 })),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_024 })),
    runs: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 8 })),
  },
  { additionalProperties: false },
);

/** Usage analytics, per-model performance, the model registry and real benchmarks (per-model status: model-status-routes.ts). */
export async function analyticsRoutes(instance: FastifyInstance, dependencies: AnalyticsDependencies): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { usage, registry, keyNames } = dependencies;
  const serverName = (id: string) => registry.get(id)?.name ?? `deleted server ${id.slice(0, 8)}`;

  app.get('/analytics/usage', { schema: { tags, summary: 'Usage by model, server, key, hour or API', querystring: UsageQuery } }, async (request) => {
    const to = timeParam(request.query.to, 'to') ?? new Date();
    const from = timeParam(request.query.from, 'from') ?? new Date(to.getTime() - 86_400_000);
    if (from >= to) throw errors.invalidRequest('from must be before to.', 'from');
    const groupByField = request.query.group_by ?? 'model';
    if (await usage.prefersRollups(from.toISOString(), to.toISOString())) return usageFromRollups(dependencies, from, to, groupByField);
    const rows = await usage.between(from.toISOString(), to.toISOString());
    const names = groupByField === 'key' ? await keyNames() : new Map<string, string>();
    const key = (row: UsageRow): string => {
      switch (groupByField) {
        case 'model':
          return row.served_model ?? `unserved: ${row.requested_model ?? 'unknown'}`;
        case 'server':
          return row.server_id === null ? 'none' : serverName(row.server_id);
        case 'key':
          return keyGroupId(row.key_id);
        case 'hour':
          return `${row.occurred_at.slice(0, 13)}:00:00Z`;
        case 'api':
          return row.api ?? 'openai';
      }
    };
    const data = [...groupBy(rows, key).entries()]
      .map(([group, groupRows]) => ({
        // By key, a group also says whose it is: the key's name, and whether Switchyard itself made the traffic.
        ...(groupByField === 'key' ? keyGroup(groupRows[0]?.key_id ?? null, names) : { group }),
        ...summarize(groupRows),
        errors: errorBreakdown(groupRows),
      }))
      .sort((a, b) => (groupByField === 'hour' ? a.group.localeCompare(b.group) : b.requests - a.requests));
    return { from: from.toISOString(), to: to.toISOString(), group_by: groupByField, source: 'records', truncated: rows.length >= usageRowLimit, total: { ...summarize(rows), errors: errorBreakdown(rows) }, data };
  });

  const reports = modelReports(dependencies);
  app.get('/models/performance', { schema: { tags, querystring: HoursQuery, summary: 'Per-model performance report' } }, async (request) => reports.performance(request.query.hours));
  app.get('/models/registry', { schema: { tags, summary: 'The model registry: every model, its servers, figures and benchmark' } }, async () => reports.registry());
  app.post('/models/:model/benchmark', { schema: { tags, summary: 'Benchmark a model with real requests', params: ModelParams, body: Type.Optional(BenchmarkBody) } }, async (request) => reports.benchmark(request.params.model, request.body ?? {}));
}

type GroupBy = 'model' | 'server' | 'key' | 'hour' | 'api';

/**
 * /analytics/usage from the rollups (decision 0029): the same groups and
 * figures, counts and sums exact, quantiles from histogram buckets, to the
 * minute. What a window of more requests than raw reads keep answers with.
 */
async function usageFromRollups(dependencies: AnalyticsDependencies, fromTime: Date, toTime: Date, groupByField: GroupBy) {
  const { usage, registry, keyNames } = dependencies;
  const from = fromTime.toISOString();
  const to = toTime.toISOString();
  const dimension = groupByField === 'hour' ? 'all' : groupByField;
  const [sums, [total], errorsByValue, totalErrors, names] = await Promise.all([
    usage.rollupSums({ dimension, from, to, ...(groupByField === 'hour' ? { by: 'hour' as const } : {}) }),
    usage.rollupSums({ dimension: 'all', from, to }),
    groupByField === 'hour' ? hourlyErrors(usage, from, to) : usage.rollupErrors(dimension, from, to),
    usage.rollupErrors('all', from, to),
    groupByField === 'key' ? keyNames() : Promise.resolve(new Map<string, string>()),
  ]);
  const serverName = (id: string) => registry.get(id)?.name ?? `deleted server ${id.slice(0, 8)}`;
  const data = sums
    .map((sum) => {
      const errorKey = groupByField === 'hour' ? (sum.bucket as string) : sum.value;
      const label =
        groupByField === 'key'
          ? keyGroup(sum.value === 'none' ? null : sum.value === 'benchmark' ? benchmarkKeyOfGroup : sum.value, names)
          : { group: groupByField === 'hour' ? (sum.bucket as string) : groupByField === 'server' && sum.value !== 'none' ? serverName(sum.value) : sum.value };
      return { ...label, ...statisticsOf(sum.measures), errors: errorsByValue.get(errorKey) ?? {} };
    })
    .sort((a, b) => (groupByField === 'hour' ? a.group.localeCompare(b.group) : b.requests - a.requests));
  const totals = total === undefined ? statisticsOf(emptyMeasures()) : statisticsOf(total.measures);
  return { from, to, group_by: groupByField, source: 'rollups', truncated: false, total: { ...totals, errors: totalErrors.get('') ?? {} }, data };
}

/** Error codes per hour (the `all` dimension's error rows, by hour). */
async function hourlyErrors(usage: UsageStore, from: string, to: string): Promise<Map<string, Record<string, number>>> {
  const byHour = new Map<string, Record<string, number>>();
  for (const entry of await usage.rollupSums({ dimension: 'all#error', from, to, by: 'hour' })) {
    const code = entry.value.slice(entry.value.lastIndexOf('\n') + 1);
    const counts = byHour.get(entry.bucket as string) ?? {};
    counts[code] = (counts[code] ?? 0) + entry.measures.requests;
    byHour.set(entry.bucket as string, counts);
  }
  return byHour;
}

// Benchmark keys are folded into one group; any id of theirs names it.
const benchmarkKeyOfGroup = 'benchmark-rollup';

const BenchmarkAliasBody = Type.Object({ model: Type.String({ minLength: 1, maxLength: 256 }), ...BenchmarkBody.properties }, { additionalProperties: false });

/**
 * The model registry, performance report and benchmark under /v1 too
 * (`/v1/models/registry`, `/v1/models/performance`, `POST /v1/models/benchmark`
 * with the model in the body), where the integration teams' clients look for
 * them: the same answers, the same scopes (reads need `read`, a benchmark
 * `admin`). They take those three names from `/v1/models/{id}`.
 */
export async function modelReportAliases(instance: FastifyInstance, dependencies: AnalyticsDependencies & { keyRing: KeyRing; sessions?: SessionLookup }): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', requireScope(dependencies.keyRing, adminScopeFor, dependencies.sessions));
  const reports = modelReports(dependencies);
  app.get('/models/performance', { schema: { tags, querystring: HoursQuery, summary: 'Per-model performance (alias of /api/v1/models/performance)', description: 'Needs the `read` scope.' } }, async (request) => reports.performance(request.query.hours));
  app.get('/models/registry', { schema: { tags, summary: 'The model registry (alias of /api/v1/models/registry)', description: 'Needs the `read` scope.' } }, async () => reports.registry());
  app.post('/models/benchmark', { schema: { tags, body: BenchmarkAliasBody, summary: 'Benchmark a model (alias of POST /api/v1/models/{model}/benchmark)', description: 'The model in the body. Sends real requests to its servers; needs the `admin` scope.' } }, async (request) => {
    const { model, ...options } = request.body;
    return reports.benchmark(model, options);
  });
}

/** The registry, performance report and benchmark, shared by their /api/v1 routes and the /v1 aliases. */
function modelReports(dependencies: AnalyticsDependencies) {
  const { usage, registry, index, benchmarker, activation, thresholds } = dependencies;
  const serverName = (id: string) => registry.get(id)?.name ?? `deleted server ${id.slice(0, 8)}`;
  return {
    async performance(hoursText: string | undefined) {
      const hours = hoursParam(hoursText);
      const to = new Date();
      const from = new Date(to.getTime() - hours * 3_600_000).toISOString();
      const fromRollups = await usage.prefersRollups(from, to.toISOString());
      const computed = fromRollups
        ? performanceFromFigures(figuresByModel(await usage.rollupSums({ dimension: 'model_server', from, to: to.toISOString() })).values(), serverName)
        : performanceReport(await usage.between(from, to.toISOString()), serverName);
      const report = computed.map((entry) => {
        const breach = thresholds?.forModel(entry.model)?.violation ?? null;
        return { ...entry, violation: breach, suggestions: breach === null ? entry.suggestions : [violationAdvice(entry.model, breach), ...entry.suggestions] };
      });
      // Models over their thresholds first: they are what needs a look.
      return { window_hours: hours, data: report.sort((a, b) => Number(b.violation !== null) - Number(a.violation !== null)) };
    },
    async registry() {
      const to = new Date();
      const from = new Date(to.getTime() - 86_400_000).toISOString();
      const statisticsByModel = new Map<string, UsageStatistics>();
      if (await usage.prefersRollups(from, to.toISOString())) {
        for (const [model, figures] of figuresByModel(await usage.rollupSums({ dimension: 'model_server', from, to: to.toISOString() }))) statisticsByModel.set(model, figures.statistics);
      } else {
        for (const [model, modelRows] of groupBy(await usage.between(from, to.toISOString()), (row) => row.served_model ?? '')) statisticsByModel.set(model, summarize(modelRows));
      }
      const benchmarks = await benchmarker.latest();
      const models = new Map<string, { capabilities: Set<ModelCapability>; servers: Array<Record<string, unknown>>; embedding_dimension: number | null; context_length: number | null; parameters_b: number | null }>();
      for (const server of registry.list()) {
        for (const model of registry.modelsOf(server.id)) {
          const entry = models.get(model.modelId) ?? { capabilities: new Set(), servers: [], embedding_dimension: model.embeddingDimension, context_length: model.contextLength, parameters_b: parameterBillions(model.modelId, model.details) };
          for (const capability of model.capabilities) entry.capabilities.add(capability);
          entry.servers.push({ id: server.id, name: server.name, health_status: server.healthStatus, status: model.status });
          models.set(model.modelId, entry);
        }
      }
      const data = [...models.entries()].map(([id, entry]) => {
        const capabilities = [...entry.capabilities];
        const statistics = statisticsByModel.get(id) ?? summarize([]);
        const live = index.deploymentsOf(id).filter((deployment) => deployment.model.modelId === id);
        const ttfbs = live.map((deployment) => deployment.state.ttfbEwmaMs).filter((value): value is number => value !== null);
        const speeds = live.map((deployment) => deployment.state.tokensPerSecondEwma).filter((value): value is number => value !== null);
        return {
          id,
          aliases: modelAliases(id),
          capabilities,
          category: categorize(capabilities, entry.parameters_b),
          parameters_b: entry.parameters_b,
          embedding_dimension: entry.embedding_dimension,
          context_length: entry.context_length,
          servers: entry.servers,
          performance: { ...statistics, rating: rate(statistics) },
          live: { ttfb_ms: ttfbs.length === 0 ? null : Math.round(Math.min(...ttfbs) * 100) / 100, tokens_per_second: speeds.length === 0 ? null : Math.round(Math.max(...speeds) * 10) / 10 },
          benchmark: benchmarks.get(id) ?? null,
          active: activation?.isInactive(id) !== true,
          threshold_violation: thresholds?.forModel(id)?.violation ?? null,
        };
      });
      return { data: data.sort((a, b) => a.id.localeCompare(b.id)) };
    },
    async benchmark(model: string, options: Static<typeof BenchmarkBody>) {
      const deployments = index.deploymentsOf(model);
      if (deployments.length === 0) throw errors.notFound(`Model ${model}`);
      const capabilities = new Set(deployments.flatMap((deployment) => deployment.model.capabilities));
      const kind = capabilities.has('chat') || capabilities.has('completion') ? 'chat' : capabilities.has('embedding') ? 'embeddings' : null;
      if (kind === null) throw errors.invalidRequest(`${model} can only rerank, which the benchmark does not measure yet.`, 'model');
      // Results are kept under the model's id, so `phi3` and `phi3:latest` share them.
      return benchmarker.run(deployments[0]?.model.modelId ?? model, kind, options);
    },
  };
}

function timeParam(value: string | undefined, param: string): Date | null {
  if (value === undefined) return null;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw errors.invalidRequest(`${param} must be an ISO-8601 time.`, param);
  return new Date(time);
}

function hoursParam(value: string | undefined): number {
  if (value === undefined) return 24;
  const hours = Number(value);
  if (!Number.isFinite(hours) || hours <= 0 || hours > 8_760) throw errors.invalidRequest('hours must be a number from 0 to 8760.', 'hours');
  return hours;
}

const metricNames: Record<Breach['metric'], string> = { p95_latency_ms: 'p95 latency', p95_ttft_ms: 'p95 time to first token', min_tokens_per_s: 'tokens/s', max_error_rate: 'error rate' };

/** What a violation means and what to try first. */
function violationAdvice(model: string, breaches: readonly Breach[]): string {
  const what = breaches.map((breach) => `${metricNames[breach.metric]} ${breach.actual} ${breach.metric === 'min_tokens_per_s' ? '<' : '>'} ${breach.limit}`).join(', ');
  return `${model} is over its thresholds (${what}): compare its versions (GET /api/v1/models/${encodeURIComponent(model)}/versions) for a regression after an upgrade and roll back, or add a warm copy (a placement) to spread the load.`;
}
