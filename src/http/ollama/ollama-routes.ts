import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
// Its type augmentation: route schemas carry summary, description and tags for the published document.
import type {} from '@fastify/swagger';
import type { KeyRing, Principal } from '../../auth/key-ring.ts';
import { isModelAllowed } from '../../auth/model-allow-list.ts';
import type { ModelLifecycleActions } from '../../control/operations/model-lifecycle.ts';
import type { OperationRunner, OperationView } from '../../control/operations/operation.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { acceptJsonUnderAnyContentType } from '../plugins/json-body-parser.ts';
import type { InferenceFrontDoor } from '../dialects/front-door.ts';
import { actorOf, requireScope, type SessionLookup } from '../plugins/authenticate.ts';
import { reachableDeployments } from '../dialects/native-servers.ts';
import { ollamaEmbedDialect, ollamaGenerationDialect } from './ollama-dialect.ts';
import { ollamaCompatibleVersion, runningOf, showModel, tagsOf, type FleetListing } from './ollama-listing.ts';
import { clientGoneSignal } from '../openai/embeddings-route.ts';
import { chatFromOllama, embedFromOllama, generateFromOllama } from './ollama-request.ts';

type Json = Record<string, unknown>;

export interface OllamaRouteDependencies {
  frontDoor: InferenceFrontDoor;
  listing: FleetListing;
  keyRing: KeyRing;
  sessions?: SessionLookup;
  bodyLimit: number;
  /** Pull, delete and copy act on the fleet through these; absent, those routes answer 501. */
  lifecycle?: ModelLifecycleActions;
  operations?: OperationRunner;
}

const open = { additionalProperties: true } as const;
const modelName = Type.String({ minLength: 1, maxLength: 256 });
const GenerationBody = Type.Object({ model: modelName, stream: Type.Optional(Type.Boolean()), keep_alive: Type.Optional(Type.Union([Type.String(), Type.Number()])) }, open);
const EmbedBody = Type.Object({ model: modelName, keep_alive: Type.Optional(Type.Union([Type.String(), Type.Number()])) }, open);
// Older clients name the model `name`.
const NamedBody = Type.Object({ model: Type.Optional(modelName), name: Type.Optional(modelName) }, open);
const PullBody = Type.Object({ model: Type.Optional(modelName), name: Type.Optional(modelName), stream: Type.Optional(Type.Boolean()), insecure: Type.Optional(Type.Boolean()) }, open);
const CopyBody = Type.Object({ source: modelName, destination: modelName }, open);

/** Ollama's own paths that change the fleet: admin keys only. */
const adminPaths = new Set(['/api/pull', '/api/delete', '/api/copy']);

const tags = ['Ollama-compatible API'];
const inferenceDoc = (summary: string, description: string) => ({ summary, description: `${description} Needs a key with the \`inference\` scope (\`Authorization: Bearer\`).`, tags });
const adminDoc = (summary: string, description: string) => ({ summary, description: `${description} Acts on every Ollama server of the fleet; needs an \`admin\` key.`, tags });

/**
 * Ollama's API over the whole fleet, under /api: Ollama's clients (the
 * `ollama` libraries, Open WebUI, n8n) point at Switchyard unchanged. A model
 * served by Ollama is passed its request natively; any other is translated
 * to and from OpenAI's API by the front door (docs/decisions/0024).
 */
export async function ollamaRoutes(instance: FastifyInstance, dependencies: OllamaRouteDependencies): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { frontDoor, listing, bodyLimit } = dependencies;
  app.addHook('onRequest', requireScope(dependencies.keyRing, (request) => (adminPaths.has(request.routeOptions.url ?? '') ? 'admin' : 'inference'), dependencies.sessions));
  frontDoor.recordRefusals(app);
  // Ollama's clients and curl checks send JSON under any content type (or none), as Ollama itself reads it.
  acceptJsonUnderAnyContentType(app);

  /** Whether a deployment of this name (or a route's targets) runs on Ollama, and whether one runs elsewhere. */
  const servedBy = (name: string): { ollama: boolean; other: boolean } => {
    const deployments = reachableDeployments(listing.index, listing.routes, name);
    return { ollama: deployments.some((deployment) => deployment.server.serverType === 'ollama'), other: deployments.some((deployment) => deployment.server.serverType !== 'ollama') };
  };

  const refuse = (refused: string[]) => {
    throw errors.invalidRequest(`${refused.join(', ')} cannot be honoured: this model is also served by servers that do not speak Ollama's API (they are sent its OpenAI translation).`, refused[0] ?? null);
  };

  const generation = (endpoint: 'chat' | 'generate') => async (request: FastifyRequest, reply: FastifyReply) => {
    const startedAt = performance.now();
    const body = request.body as Json;
    const model = body['model'] as string;
    const stream = body['stream'] !== false;
    const served = servedBy(model);
    const translation = endpoint === 'chat' ? { ...chatFromOllama(body, stream), operation: 'chat' as const } : generateFromOllama(body, stream);
    if (translation.refused.length > 0 && served.other) refuse(translation.refused);
    // An empty prompt (or no messages) asks only to load the model: a server that keeps its models loaded has nothing to do.
    if (!served.ollama && isLoadRequest(endpoint, body) && allowedFor(request)(model)) {
      const field = endpoint === 'chat' ? { message: { role: 'assistant', content: '' } } : { response: '' };
      return { model, created_at: new Date().toISOString(), ...field, done_reason: 'load', done: true };
    }
    return frontDoor.serve(request, reply, {
      operation: translation.operation,
      api: 'ollama',
      body: translation.body,
      stream,
      errorShape: 'ollama',
      dialect: ollamaGenerationDialect({ model, endpoint, startedAt, think: body['think'] !== undefined && body['think'] !== false }),
      ...(served.ollama ? { native: { api: 'ollama', path: `/api/${endpoint}`, body } } : {}),
    });
  };

  const embed = (legacy: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const startedAt = performance.now();
    const body = request.body as Json;
    const model = body['model'] as string;
    const translated = embedFromOllama(body, legacy);
    const input = translated['input'];
    // Ollama answers an empty input with no vectors rather than an error.
    if ((Array.isArray(input) && input.length === 0) || (legacy && input === '')) return legacy ? { embedding: [] } : { model, embeddings: [] };
    const served = servedBy(model);
    return frontDoor.serve(request, reply, {
      operation: 'embeddings',
      api: 'ollama',
      body: translated,
      stream: false,
      errorShape: 'ollama',
      dialect: ollamaEmbedDialect({ model, legacy, startedAt }),
      ...(served.ollama ? { native: { api: 'ollama', path: legacy ? '/api/embeddings' : '/api/embed', body } } : {}),
    });
  };

  app.post('/chat', { bodyLimit, schema: { body: GenerationBody, ...inferenceDoc('Chat (Ollama)', 'Ollama\'s /api/chat: NDJSON stream by default, `stream: false` for one answer.') }, config: { operation: 'chat', api: 'ollama' } }, generation('chat'));
  app.post('/generate', { bodyLimit, schema: { body: GenerationBody, ...inferenceDoc('Generate (Ollama)', 'Ollama\'s /api/generate: NDJSON stream by default.') }, config: { operation: 'chat', api: 'ollama' } }, generation('generate'));
  app.post('/embed', { bodyLimit, schema: { body: EmbedBody, ...inferenceDoc('Embed (Ollama)', 'Ollama\'s /api/embed: `input` a string or strings.') }, config: { operation: 'embeddings', api: 'ollama' } }, embed(false));
  app.post('/embeddings', { bodyLimit, schema: { body: EmbedBody, ...inferenceDoc('Embeddings, older shape (Ollama)', 'Ollama\'s older /api/embeddings: one `prompt`, one `embedding`.') }, config: { operation: 'embeddings', api: 'ollama' } }, embed(true));

  app.get('/tags', { schema: inferenceDoc('List models (Ollama)', 'Every model and route of the fleet the key may use, whatever serves it.') }, async (request) => tagsOf(listing, allowedFor(request), Date.now()));
  app.get('/ps', { schema: inferenceDoc('Loaded models (Ollama)', 'The models loaded now across the fleet.') }, async (request) => runningOf(listing, allowedFor(request), Date.now()));
  app.get('/version', { schema: inferenceDoc('Version (Ollama)', 'The Ollama API version Switchyard matches.') }, async () => ({ version: ollamaCompatibleVersion }));
  app.post('/show', { schema: { body: NamedBody, ...inferenceDoc('Show a model (Ollama)', 'Details, capabilities and model info of one model: an Ollama server\'s own answer when one has it, else built from the fleet\'s index.') } }, async (request, reply) => {
    const name = nameIn(request.body as Json);
    const shown = await showModel(listing, name, allowedFor(request), Date.now(), clientGoneSignal(reply));
    if (shown === null) throw ollamaNotFound(name);
    return shown;
  });

  const lifecycle = () => {
    if (dependencies.lifecycle === undefined || dependencies.operations === undefined) throw errors.invalidRequest('Model lifecycle operations are not available on this gateway.');
    return { actions: dependencies.lifecycle, operations: dependencies.operations };
  };

  app.post('/pull', { schema: { body: PullBody, ...adminDoc('Pull a model onto the fleet (Ollama)', 'Pulls the model on every active Ollama server; progress streams as Ollama\'s NDJSON unless `stream: false`.') } }, async (request, reply) => {
    const { actions, operations } = lifecycle();
    const body = request.body as Json;
    const view = await actions.pull({ model: nameIn(body), servers: 'all', actor: actorOf(request) });
    if (body['stream'] === false) {
      const final = await operations.settled(view.id);
      if (final.status !== 'succeeded') throw errors.operationFailed(failureOf(final));
      return { status: 'success' };
    }
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', 'x-request-id': request.id });
    response.write(`${JSON.stringify({ status: 'pulling manifest' })}\n`);
    let last = '';
    const send = (current: OperationView) => {
      if (response.writableEnded) return;
      if (current.status === 'running') {
        const line = JSON.stringify(progressLine(current));
        if (line !== last) response.write(`${line}\n`);
        last = line;
        return;
      }
      unsubscribe();
      response.end(`${JSON.stringify(current.status === 'succeeded' ? { status: 'success' } : { error: failureOf(current) })}\n`);
    };
    const unsubscribe = operations.subscribe(view.id, send);
    // The operation goes on when the client leaves: it is the fleet's, and shows in the console.
    response.on('close', unsubscribe);
    send((await operations.get(view.id)) ?? view);
  });

  app.delete('/delete', { schema: { body: NamedBody, ...adminDoc('Delete a model from the fleet (Ollama)', 'Removes the model from every Ollama server that has it.') } }, async (request, reply) => {
    const { actions, operations } = lifecycle();
    const name = nameIn(request.body as Json);
    if (listing.index.deploymentsOf(name).length === 0) throw ollamaNotFound(name);
    const final = await operations.settled((await actions.remove({ model: name, servers: 'all', actor: actorOf(request) })).id);
    if (final.status !== 'succeeded') throw errors.operationFailed(failureOf(final));
    return reply.code(200).send();
  });

  app.post('/copy', { schema: { body: CopyBody, ...adminDoc('Copy a model on the fleet (Ollama)', 'Copies the model under a new name on every Ollama server that has it.') } }, async (request, reply) => {
    const { actions, operations } = lifecycle();
    const body = request.body as { source: string; destination: string };
    if (listing.index.deploymentsOf(body.source).length === 0) throw ollamaNotFound(body.source);
    const final = await operations.settled((await actions.copy({ model: body.source, destination: body.destination, servers: 'all', actor: actorOf(request) })).id);
    if (final.status !== 'succeeded') throw errors.operationFailed(failureOf(final));
    return reply.code(200).send();
  });
}

function allowedFor(request: FastifyRequest): (name: string) => boolean {
  const models = (request.principal as Principal).models;
  return models === null ? () => true : (name: string) => isModelAllowed(models, name);
}

function nameIn(body: Json): string {
  const name = body['model'] ?? body['name'];
  if (typeof name !== 'string' || name === '') throw errors.invalidRequest('model is required.', 'model');
  return name;
}

/** Ollama's own words for a model it does not have (its clients match on them). */
function ollamaNotFound(name: string) {
  return errors.notFound(`model '${name}'`, `model '${name}' not found`);
}

function isLoadRequest(endpoint: 'chat' | 'generate', body: Json): boolean {
  if (endpoint === 'chat') return !Array.isArray(body['messages']) || body['messages'].length === 0;
  return (body['prompt'] === undefined || body['prompt'] === '') && (!Array.isArray(body['images']) || body['images'].length === 0);
}

/** A pull's progress as one of Ollama's lines: the busiest server's step, bytes summed over servers. */
function progressLine(view: OperationView): Json {
  const running = view.servers.find((target) => target.status === 'running') ?? view.servers[0];
  const total = view.servers.reduce((sum, target) => sum + (target.total ?? 0), 0);
  const completed = view.servers.reduce((sum, target) => sum + (target.completed ?? 0), 0);
  return { status: running?.message ?? `pulling ${view.model}`, ...(running?.digest == null ? {} : { digest: running.digest }), ...(total > 0 ? { total, completed } : {}) };
}

function failureOf(view: OperationView): string {
  const failed = view.servers.filter((target) => target.status === 'failed');
  if (failed.length === 0) return view.error ?? `${view.kind} ${view.status}`;
  return failed.map((target) => `${target.name}: ${target.error ?? 'failed'}`).join('; ');
}
