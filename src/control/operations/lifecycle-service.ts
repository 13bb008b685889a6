import type { FastifyBaseLogger } from 'fastify';
import { findServerKind } from '../../data/adapters/server-kinds.ts';
import type { AdapterContext } from '../../data/adapters/server-adapter.ts';
import { adapterContextFor } from '../../data/adapters/adapter-context.ts';
import type { KindLifecycle } from '../../data/adapters/server-kind-module.ts';
import type { UpstreamHttp } from '../../data/upstream/upstream-http.ts';
import { modelMatches, type ModelServer } from '../../domain/model-server.ts';
import { modelNameProblem } from '../../domain/model-name.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { ServerRegistry } from '../servers/server-registry.ts';
import { isKeepAlive } from './keep-alive.ts';
import type { LifecycleRequest, ModelLifecycleActions, ServerSelection } from './model-lifecycle.ts';
import type { ModelNeeds } from './model-needs.ts';
import { lifecycleOf } from './server-lifecycle.ts';
import type { OperationKind, OperationRunner, OperationView } from './operation.ts';

type Action = 'pull' | 'remove' | 'copy' | 'load' | 'unload';

const verbs: Record<Action, string> = { pull: 'pulling', remove: 'deleting', copy: 'copying', load: 'loading', unload: 'unloading' };
const kinds: Record<Action, OperationKind> = { pull: 'pull', remove: 'delete', copy: 'copy', load: 'load', unload: 'unload' };

export interface LifecycleServiceOptions {
  registry: ServerRegistry;
  operations: OperationRunner;
  needs: ModelNeeds;
  http: UpstreamHttp;
  /** Probes one server at once (the health scheduler's checkNow), so discovery follows a finished action. */
  recheck: (serverId: string) => Promise<unknown>;
  /** Deadline of a single non-streamed call (delete, copy, unload). */
  timeoutMs: number;
  log: FastifyBaseLogger;
}

/**
 * Pull, delete, copy, load and unload across servers, each as one operation
 * (docs/decisions/0018). Everything is checked before anything starts; each
 * server that finishes is probed again at once, so the inventory, discovery,
 * `model.added` events and webhooks follow without waiting for a health round.
 */
export class LifecycleService implements ModelLifecycleActions {
  readonly #options: LifecycleServiceOptions;

  constructor(options: LifecycleServiceOptions) {
    this.#options = options;
  }

  async pull(request: LifecycleRequest): Promise<OperationView> {
    const model = checkedName(request.model, 'model');
    const servers = this.#select('pull', request.servers, () => true);
    return this.#start('pull', model, servers, request, { servers: serverIds(servers) }, (lifecycle, context) => lifecycle.pull?.(context.adapter, model, context.progress));
  }

  async remove(request: LifecycleRequest & { force?: boolean }): Promise<OperationView> {
    const model = checkedName(request.model, 'model');
    const servers = this.#select('remove', request.servers, (server) => this.#holds(server, model));
    const remaining = this.#holders(model).filter((server) => !servers.includes(server));
    const needs = this.#options.needs.of(model);
    if (remaining.length === 0 && needs.length > 0 && request.force !== true) {
      throw errors.conflict(`${model} is still needed by ${needs.join(', ')}; this would delete its last copy. Add force=true to delete it anyway.`, 'model');
    }
    return this.#start('remove', model, servers, request, { force: request.force === true }, (lifecycle, context) => lifecycle.remove?.(context.adapter, model));
  }

  async copy(request: LifecycleRequest & { destination: string }): Promise<OperationView> {
    const source = checkedName(request.model, 'source');
    const destination = checkedName(request.destination, 'destination');
    if (destination === source) throw errors.invalidRequest('destination must differ from source.', 'destination');
    const servers = this.#select('copy', request.servers, (server) => this.#holds(server, source));
    return this.#start('copy', source, servers, request, { destination }, (lifecycle, context) => lifecycle.copy?.(context.adapter, source, destination));
  }

  async load(request: LifecycleRequest & { keepAlive?: string | number; loraPath?: string }): Promise<OperationView> {
    const model = checkedName(request.model, 'model');
    if (request.keepAlive !== undefined && !isKeepAlive(request.keepAlive)) {
      throw errors.invalidRequest('keep_alive must be a duration such as "30m", "1h30m" or "-1s", or a number of seconds.', 'keep_alive');
    }
    const servers = this.#select('load', request.servers, (server) => this.#holds(server, model));
    const options = { ...(request.keepAlive === undefined ? {} : { keepAlive: request.keepAlive }), ...(request.loraPath === undefined ? {} : { loraPath: request.loraPath }) };
    const params = { ...(request.keepAlive === undefined ? {} : { keep_alive: request.keepAlive }), ...(request.loraPath === undefined ? {} : { lora_path: request.loraPath }) };
    return this.#start('load', model, servers, request, params, (lifecycle, context) => lifecycle.load?.(context.adapter, model, options));
  }

  async unload(request: LifecycleRequest): Promise<OperationView> {
    const model = checkedName(request.model, 'model');
    const servers = this.#select('unload', request.servers, (server) => this.#holds(server, model));
    return this.#start('unload', model, servers, request, {}, (lifecycle, context) => lifecycle.unload?.(context.adapter, model));
  }

  /**
   * The servers an action runs on. `all`: every active server whose kind can
   * do it and (except for a pull) that has the model. Ids: each must exist
   * and its kind must be able to do it; nothing starts otherwise.
   */
  #select(action: Action, selection: ServerSelection, relevant: (server: ModelServer) => boolean): ModelServer[] {
    if (selection === 'all') {
      const chosen = this.#options.registry.list().filter((server) => server.isActive && this.#lifecycleOf(server)?.[action] !== undefined && relevant(server));
      if (chosen.length === 0) {
        throw errors.invalidRequest(action === 'pull' ? 'No active server can pull models (only Ollama servers can).' : `No active server that can do it has this model.`, 'servers');
      }
      return chosen;
    }
    if (selection.length === 0) throw errors.invalidRequest('servers must name at least one server id, or be "all".', 'servers');
    const chosen: ModelServer[] = [];
    for (const id of new Set(selection)) {
      const server = this.#options.registry.get(id) ?? this.#options.registry.getByName(id);
      if (server === undefined) throw errors.invalidRequest(`servers: no server has the id ${JSON.stringify(id)}.`, 'servers');
      const lifecycle = this.#lifecycleOf(server);
      const kind = findServerKind(server.serverType);
      if (lifecycle === undefined && kind?.lifecycle?.[action] !== undefined && kind.lifecycle.unmanaged !== undefined) {
        throw errors.invalidRequest(`servers: ${server.name} cannot do that: ${kind.lifecycle.unmanaged}.`, 'servers');
      }
      if (lifecycle?.[action] === undefined) {
        const what = lifecycle?.loadsWhat === undefined || (action !== 'load' && action !== 'unload') ? '' : ` (it loads ${lifecycle.loadsWhat} only)`;
        throw errors.invalidRequest(`servers: ${server.name} is a ${kind?.label ?? server.serverType} server; ${verbs[action]} models is not supported by this server kind${what}.`, 'servers');
      }
      chosen.push(server);
    }
    return chosen;
  }

  #lifecycleOf(server: ModelServer): KindLifecycle | undefined {
    return lifecycleOf(server, this.#options.registry.modelsOf(server.id));
  }

  #holds(server: ModelServer, model: string): boolean {
    return this.#options.registry.modelsOf(server.id).some((entry) => modelMatches(entry.modelId, model));
  }

  #holders(model: string): ModelServer[] {
    return this.#options.registry.list().filter((server) => this.#holds(server, model));
  }

  async #start(
    action: Action,
    model: string,
    servers: ModelServer[],
    request: LifecycleRequest,
    params: Record<string, unknown>,
    work: (lifecycle: KindLifecycle, context: { adapter: AdapterContext; progress: (update: { message: string; completed?: number; total?: number; digest?: string }) => void }) => Promise<void> | undefined,
  ): Promise<OperationView> {
    const { registry, recheck, log } = this.#options;
    return this.#options.operations.start({
      kind: kinds[action],
      model,
      params,
      actor: request.actor,
      targets: servers.map((server) => ({ server_id: server.id, name: server.name })),
      run: async (target, progress, signal) => {
        const server = registry.get(target.server_id ?? '');
        if (server === undefined) throw new Error('the server was removed while the operation ran');
        const lifecycle = this.#lifecycleOf(server);
        if (lifecycle === undefined) throw new Error('this server manages no models');
        progress({ message: verbs[action] });
        await work(lifecycle, { adapter: adapterContextFor(server, this.#options.http, this.#options.timeoutMs, signal), progress });
        progress({ message: 'checking the server' });
        await recheck(server.id).catch((error: unknown) => log.warn({ server: server.name, err: error instanceof Error ? error.message : 'unknown' }, 'could not re-probe a server after an operation'));
        const held = registry.modelsOf(server.id).find((entry) => modelMatches(entry.modelId, action === 'copy' ? String(params['destination']) : model));
        const digest = held?.details['digest'];
        progress({ message: 'done' });
        return typeof digest === 'string' ? { digest } : undefined;
      },
    });
  }
}

function checkedName(name: string, field: string): string {
  const problem = modelNameProblem(name);
  if (problem !== null) throw errors.invalidRequest(`${field} ${problem}.`, field);
  return name;
}

function serverIds(servers: ModelServer[]): string[] {
  return servers.map((server) => server.id);
}
