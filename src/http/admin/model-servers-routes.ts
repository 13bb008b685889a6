import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { modelMatches } from '../../domain/model-server.ts';
import { actorOf } from '../plugins/authenticate.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { ServerChecker } from '../../control/health/server-checker.ts';
import type { HealthScheduler } from '../../control/health/health-scheduler.ts';
import type { ServerRegistry } from '../../control/servers/server-registry.ts';
import type { HistoryStore } from '../../storage/history-store.ts';
import type { FleetOwnership } from '../../control/fleet/fleet-ownership.ts';
import {
  CheckReportSchema,
  CreateServerBody,
  HistoryQuery,
  limitOf,
  ServerIdParams,
  ServerModelSchema,
  ServerRecordSchema,
  TestReportSchema,
  UpdateServerBody,
} from './model-server-schemas.ts';
import {
  toCheckRecord,
  toExpectedModels,
  toMetricsRecord,
  toModelEventRecord,
  toModelRecord,
  toServerRecord,
  toTransitionRecord,
} from './server-record.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Model servers'];

export interface ModelServerRouteDependencies {
  registry: ServerRegistry;
  checker: ServerChecker;
  scheduler: HealthScheduler;
  history: HistoryStore;
  ownership: FleetOwnership;
}

/** `/api/v1/model-servers`: the fleet registry over REST. */
export async function modelServersRoutes(instance: FastifyInstance, dependencies: ModelServerRouteDependencies): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { registry, checker, scheduler, history, ownership } = dependencies;
  const record = (id: string) => toServerRecord(registry.require(id), registry.modelsOf(id).length, registry.loadOf(id) ?? null, ownership);
  // Checks and tests stay open on a managed server: they change nothing the file sets.
  const requireEditable = (id: string) => {
    const server = registry.require(id);
    ownership.assertEditable(server, `Model server "${server.name}"`);
  };

  app.get('/model-servers', { schema: { tags, summary: 'List model servers', response: { 200: Type.Object({ data: Type.Array(ServerRecordSchema) }) } } }, async () => ({
    data: registry.list().map((server) => toServerRecord(server, registry.modelsOf(server.id).length, registry.loadOf(server.id) ?? null, ownership)),
  }));

  app.post('/model-servers', { schema: { tags, summary: 'Register a model server (its kind detected when omitted)', body: CreateServerBody, response: { 201: ServerRecordSchema } } }, async (request, reply) => {
    const { expected_models, ...rest } = request.body;
    const server = await registry.create({ ...rest, expected_models: toExpectedModels(expected_models) ?? [] }, actorOf(request));
    return reply.status(201).send(record(server.id));
  });

  app.post('/model-servers/health-check-all', { schema: { tags, summary: 'Check every server\'s health now', response: { 200: Type.Object({ data: Type.Array(CheckReportSchema) }) } } }, async () => ({
    data: await scheduler.checkAll(),
  }));

  app.get('/model-servers/:id', { schema: { tags, summary: 'Get a model server', params: ServerIdParams, response: { 200: ServerRecordSchema } } }, async (request) =>
    record(request.params.id),
  );

  app.put(
    '/model-servers/:id',
    { schema: { tags, summary: 'Update a model server', params: ServerIdParams, body: UpdateServerBody, response: { 200: ServerRecordSchema } } },
    async (request) => {
      requireEditable(request.params.id);
      const { expected_models, ...rest } = request.body;
      const expected = toExpectedModels(expected_models);
      await registry.update(request.params.id, expected === undefined ? rest : { ...rest, expected_models: expected }, actorOf(request));
      return record(request.params.id);
    },
  );

  app.delete('/model-servers/:id', { schema: { tags, summary: 'Remove a model server', params: ServerIdParams } }, async (request, reply) => {
    requireEditable(request.params.id);
    await registry.remove(request.params.id, actorOf(request));
    return reply.status(204).send();
  });

  app.post('/model-servers/:id/test', { schema: { tags, summary: 'Test a server\'s connection', params: ServerIdParams, response: { 200: TestReportSchema } } }, async (request) =>
    checker.test(request.params.id),
  );

  app.get('/model-servers/:id/models', { schema: { tags, summary: 'A server\'s models', params: ServerIdParams, response: { 200: Type.Object({ data: Type.Array(ServerModelSchema) }) } } }, async (request) => {
    const server = registry.require(request.params.id);
    return { data: registry.modelsOf(request.params.id).map((model) => toModelRecord(model, server.serverType)) };
  });

  // Model ids may hold slashes (BAAI/bge-small-en-v1.5), hence the wildcard; Ollama's `name:latest` answers to `name` too.
  app.get('/model-servers/:id/models/*', { schema: { tags, summary: 'One model on a server', params: Type.Object({ id: Type.String(), '*': Type.String({ minLength: 1, maxLength: 300 }) }), response: { 200: ServerModelSchema } } }, async (request) => {
    const server = registry.require(request.params.id);
    const wanted = request.params['*'];
    const model = registry.modelsOf(request.params.id).find((candidate) => modelMatches(candidate.modelId, wanted));
    if (model === undefined) throw errors.notFound(`Model ${wanted} on this server`);
    return toModelRecord(model, server.serverType);
  });

  app.get('/model-servers/:id/health', { schema: { tags, summary: 'A server\'s health history', params: ServerIdParams, querystring: HistoryQuery } }, async (request) => {
    const server = registry.require(request.params.id);
    const limit = limitOf(request.query, 50);
    const [checks, transitions, events] = await Promise.all([
      history.recentChecks(server.id, limit),
      history.recentTransitions(server.id, limit),
      history.recentModelEvents(server.id, limit),
    ]);
    return {
      id: server.id,
      name: server.name,
      health_status: server.healthStatus,
      status_reason: server.statusReason,
      status_message: server.statusMessage,
      consecutive_failures: server.consecutiveFailures,
      last_health_check: server.lastHealthCheck,
      last_latency_ms: server.lastLatencyMs,
      history: checks.map(toCheckRecord),
      transitions: transitions.map(toTransitionRecord),
      model_events: events.map(toModelEventRecord),
    };
  });

  app.get('/model-servers/:id/metrics', { schema: { tags, summary: 'A server\'s load history', params: ServerIdParams, querystring: HistoryQuery } }, async (request) => {
    const server = registry.require(request.params.id);
    const samples = (await history.recentMetrics(server.id, limitOf(request.query, 60))).map(toMetricsRecord);
    return { id: server.id, name: server.name, latest: samples[0] ?? null, history: samples };
  });
}
