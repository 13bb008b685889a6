import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type {} from '@fastify/swagger';
import type { KeyRing, Principal } from '../../auth/key-ring.ts';
import { isModelAllowed } from '../../auth/model-allow-list.ts';
import { groupBy, type UsageRow } from '../../control/analytics/usage-statistics.ts';
import { figuresByModel, type ModelFigures } from '../../control/analytics/rollup-reports.ts';
import type { ModelIndex } from '../../data/routing/model-index.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { acceptJsonUnderAnyContentType } from '../plugins/json-body-parser.ts';
import type { UsageStore } from '../../storage/usage-store.ts';
import type { InferenceFrontDoor } from '../dialects/front-door.ts';
import { requireScope, type SessionLookup } from '../plugins/authenticate.ts';
import { fingerprint, modelStatus, statusChange, type ModelStatusChange } from './model-status.ts';
import { openEventStream } from '../plugins/event-stream.ts';
import { restGenerateDialect, type CostOf } from './rest-dialect.ts';

export interface ModelStatusRouteDependencies {
  frontDoor: InferenceFrontDoor;
  index: ModelIndex;
  usage: UsageStore;
  keyRing: KeyRing;
  sessions?: SessionLookup;
  bodyLimit: number;
  /** Fleet changes: each one may change models' status (`/models/status/events`). */
  fleet: { onEvent(listener: () => void): () => void };
  /** Per-model prices: a generation's `cost` (null without them). */
  costOf?: CostOf;
}

const ModelParams = Type.Object({ model: Type.String({ minLength: 1, maxLength: 256 }) });
// The integration teams' scripts POST an empty body, `{}`, or nothing at all.
const AnyBody = Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]));
const GenerateBody = Type.Object(
  {
    prompt: Type.String({ minLength: 1 }),
    system: Type.Optional(Type.String()),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    stream: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const tags = ['Model REST API'];
const statusAuth = 'For keys with the `read` or `inference` scope; a model outside an inference key\'s allow-list is not found.';

/**
 * The simple model REST API the integration teams' scripts and operators'
 * curl checks use: every model's status, one model's status (GET, or POST as
 * the scripts send it), and a one-shot generate through the same engine as
 * /v1 (recorded with api `rest`).
 */
export async function modelStatusRoutes(instance: FastifyInstance, dependencies: ModelStatusRouteDependencies): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { frontDoor, index, usage, bodyLimit } = dependencies;
  const costOf = dependencies.costOf ?? (() => null);
  app.addHook('onRequest', requireScope(dependencies.keyRing, (request) => (request.routeOptions.url?.endsWith('/generate') === true ? 'inference' : ['read', 'inference']), dependencies.sessions));
  frontDoor.recordRefusals(app);
  // Ollama's clients and curl checks send JSON under any content type (or none), as Ollama itself reads it.
  acceptJsonUnderAnyContentType(app);

  const allowedFor = (request: FastifyRequest) => {
    const models = (request.principal as Principal).models;
    return models === null ? () => true : (name: string) => isModelAllowed(models, name);
  };
  const lastHour = () => {
    const to = new Date();
    return { from: new Date(to.getTime() - 3_600_000).toISOString(), to: to.toISOString() };
  };

  app.get('/models/status', { schema: { summary: 'Every model\'s status', description: `Each model the key may use: whether a server can take it now, where it is loaded, each server's health, and its last hour's latency and errors. ${statusAuth}`, tags } }, async (request) => {
    const isAllowed = allowedFor(request);
    const window = lastHour();
    const recentOf = await recentUsage(usage, window);
    const now = Date.now();
    const data = index
      .names()
      .filter((name) => isAllowed(name))
      .map((name) => index.deploymentsOf(name).filter((deployment) => deployment.model.modelId === name))
      .filter((deployments) => deployments.length > 0)
      .map((deployments) => modelStatus(deployments, recentOf(deployments[0]?.model.modelId ?? ''), now));
    return { data };
  });

  // Changes only (a client reads /models/status first): a model whose status, loading or servers changed, as it changes.
  app.get('/models/status/events', { schema: { summary: 'Model status changes as a live SSE stream', description: `A \`model\` event \`{model, status, loaded, servers}\` whenever a model becomes available or unavailable, is loaded or unloaded, gains or loses a server; \`status: "removed"\` when its last server is gone. ${statusAuth}`, tags } }, async (request, reply) => {
    const isAllowed = allowedFor(request);
    const stream = openEventStream(request, reply);
    if (stream === null) return;
    const seen = new Map<string, string>();
    const current = () => {
      const now = Date.now();
      const states = new Map<string, ModelStatusChange>();
      for (const name of index.names()) {
        if (!isAllowed(name)) continue;
        const deployments = index.deploymentsOf(name).filter((deployment) => deployment.model.modelId === name);
        if (deployments.length > 0) states.set(name, statusChange(name, deployments, now));
      }
      return states;
    };
    for (const [name, state] of current()) seen.set(name, fingerprint(state));
    let scheduled = false;
    const compare = () => {
      scheduled = false;
      const states = current();
      for (const [name, state] of states) {
        const print = fingerprint(state);
        if (seen.get(name) === print) continue;
        seen.set(name, print);
        stream.send('model', state);
      }
      for (const name of [...seen.keys()]) {
        if (states.has(name)) continue;
        seen.delete(name);
        stream.send('model', { model: name, status: 'removed', loaded: false, servers: [] });
      }
    };
    // Several events of one probe become one comparison.
    const unsubscribe = dependencies.fleet.onEvent(() => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(compare);
    });
    stream.onClose(unsubscribe);
  });

  const oneModel = async (request: FastifyRequest) => {
    const { model } = request.params as { model: string };
    const deployments = allowedFor(request)(model) ? index.deploymentsOf(model) : [];
    if (deployments.length === 0) throw errors.notFound(`Model ${model}`);
    const window = lastHour();
    const modelId = deployments[0]?.model.modelId ?? model;
    const figures = (await usage.prefersRollups(window.from, window.to)) ? (await recentUsage(usage, window))(modelId) : await usage.between(window.from, window.to, modelId);
    return modelStatus(deployments, figures, Date.now());
  };
  app.get('/models/:model/status', { schema: { params: ModelParams, summary: 'One model\'s status', description: statusAuth, tags } }, oneModel);
  app.post('/models/:model/status', { schema: { params: ModelParams, body: AnyBody, summary: 'One model\'s status (POST, as the integration scripts send it)', description: `The same answer as GET. ${statusAuth}`, tags } }, oneModel);

  app.post('/models/:model/generate', { bodyLimit, schema: { params: ModelParams, body: GenerateBody, summary: 'Generate text with one model', description: 'A one-shot prompt: `{id, model, text, server, usage, cost, latency_ms, finish_reason}` (`cost` from the model\'s price, null without one), or SSE `{type: "delta", text}` events and a last `{type: "done", …}` with `stream: true`. Same routing, limits and usage records as /v1 (api `rest`). Needs the `inference` scope.', tags }, config: { operation: 'chat', api: 'rest' } }, async (request, reply) => {
    const startedAt = performance.now();
    const { model } = request.params as { model: string };
    const body = request.body as { prompt: string; system?: string; max_tokens?: number; temperature?: number; stream?: boolean };
    const stream = body.stream === true;
    const messages = [...(body.system === undefined ? [] : [{ role: 'system', content: body.system }]), { role: 'user', content: body.prompt }];
    const chat: Record<string, unknown> = { model, messages };
    if (body.max_tokens !== undefined) chat['max_tokens'] = body.max_tokens;
    if (body.temperature !== undefined) chat['temperature'] = body.temperature;
    if (stream) Object.assign(chat, { stream: true, stream_options: { include_usage: true } });
    return frontDoor.serve(request, reply, { operation: 'chat', api: 'rest', body: chat, stream, errorShape: 'admin', dialect: restGenerateDialect(startedAt, request.id, costOf) });
  });
}

/** The last hour's usage per model: raw records, or the rollups when there are more than raw reads keep (decision 0029). */
async function recentUsage(usage: UsageStore, window: { from: string; to: string }): Promise<(model: string) => readonly UsageRow[] | ModelFigures | undefined> {
  if (await usage.prefersRollups(window.from, window.to)) {
    const figures = figuresByModel(await usage.rollupSums({ dimension: 'model_server', from: window.from, to: window.to }));
    return (model) => figures.get(model);
  }
  const rows = groupBy(await usage.between(window.from, window.to), (row) => row.served_model ?? '');
  return (model) => rows.get(model) ?? [];
}
