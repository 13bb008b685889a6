import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FleetOwnership } from '../../control/fleet/fleet-ownership.ts';
import type { ModelActivation } from '../../control/model-registry/model-activation.ts';
import type { ModelThresholds, Thresholds } from '../../control/model-registry/model-thresholds.ts';
import type { VersionFigures } from '../../control/model-registry/version-figures.ts';
import type { VersionTracker } from '../../control/model-registry/version-tracker.ts';
import type { ModelBenchmarker } from '../../control/analytics/model-benchmark.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { actorOf } from '../plugins/authenticate.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Model registry'];

const ModelParams = Type.Object({ model: Type.String({ minLength: 1, maxLength: 256 }) });
const ThresholdBody = Type.Object(
  {
    p95_latency_ms: Type.Optional(Type.Number()),
    p95_ttft_ms: Type.Optional(Type.Number()),
    min_tokens_per_s: Type.Optional(Type.Number()),
    max_error_rate: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);

export interface ModelRegistryHttp {
  versions: VersionTracker;
  figures: VersionFigures;
  thresholds: ModelThresholds;
  activation: ModelActivation;
  benchmarker: ModelBenchmarker;
}

export function thresholdsRecord(entry: Thresholds, ownership: FleetOwnership) {
  return { model: entry.model, ...entry.limits, violation: entry.violation, violated_since: entry.violatedSince, managed_by: ownership.view(entry), created_at: entry.createdAt, updated_at: entry.updatedAt };
}

/**
 * `/api/v1/models/{model}/versions`, `/thresholds`, `/deactivate`, `/activate`
 * (docs/decisions/0021). Names holding `/` are percent-encoded in the path.
 */
export async function modelRegistryRoutes(instance: FastifyInstance, dependencies: ModelRegistryHttp & { ownership: FleetOwnership }): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { versions, figures, thresholds, activation, benchmarker, ownership } = dependencies;

  app.get('/models/:model/versions', { schema: { tags, summary: 'A model\'s versions and daily figures', params: ModelParams } }, async (request) => {
    const model = request.params.model;
    const found = versions.versionsOf(model);
    if (found.length === 0) throw errors.notFound(`Versions of model "${model}"`);
    const daily = await figures.of(model);
    const benchmarks = await benchmarker.history(model);
    return {
      model,
      active: !activation.isInactive(model),
      thresholds: thresholds.forModel(model) === undefined ? null : thresholdsRecord(thresholds.forModel(model) as Thresholds, ownership),
      data: found.map((version) => ({
        version: version.version,
        digest: /^[0-9a-f]{64}$/.test(version.version) ? version.version : null,
        first_seen_at: version.first_seen_at,
        last_seen_at: version.last_seen_at,
        current: version.current,
        servers: version.servers.map((server) => ({ ...server, current: version.current_on.includes(server.name) })),
        // The benchmarks run while this version was the one served (the newest first).
        benchmarks: benchmarks.filter((run) => run.created_at >= version.first_seen_at && (version.current || run.created_at <= version.last_seen_at)),
        daily: daily.get(version.version) ?? [],
      })),
    };
  });

  app.get('/models/:model/thresholds', { schema: { tags, summary: 'A model\'s thresholds and any violation', params: ModelParams } }, async (request) => thresholdsRecord(thresholds.require(request.params.model), ownership));
  app.put('/models/:model/thresholds', { schema: { tags, summary: 'Set a model\'s thresholds', params: ModelParams, body: ThresholdBody } }, async (request, reply) => {
    const model = request.params.model;
    const current = thresholds.get(model);
    if (current !== undefined) ownership.assertEditable(current, `Thresholds for "${model}"`);
    const { thresholds: saved, created } = await thresholds.put(model, request.body, { actor: actorOf(request) });
    return reply.status(created ? 201 : 200).send(thresholdsRecord(saved, ownership));
  });
  app.delete('/models/:model/thresholds', { schema: { tags, summary: 'Remove a model\'s thresholds', params: ModelParams } }, async (request, reply) => {
    const model = request.params.model;
    ownership.assertEditable(thresholds.require(model), `Thresholds for "${model}"`);
    await thresholds.remove(model, actorOf(request));
    return reply.status(204).send();
  });

  app.post('/models/:model/deactivate', { schema: { tags, summary: 'Stop routing requests to a model', params: ModelParams } }, async (request) => {
    await activation.deactivate(request.params.model, actorOf(request));
    return { model: request.params.model, active: false };
  });
  app.post('/models/:model/activate', { schema: { tags, summary: 'Route requests to a model again', params: ModelParams } }, async (request) => {
    await activation.activate(request.params.model, actorOf(request));
    return { model: request.params.model, active: true };
  });
}
