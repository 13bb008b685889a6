// llama.cpp's llama-server in router mode (started without -m; b7000-era
// tools/server/server-models.cpp): it lists every model of its --models-dir
// with a status, runs each loaded model in a child llama-server, and proxies
// each request to the child of the model the request names (the body's
// `model` for POSTs, `?model=` for GETs). Here each child is a real
// single-model llama.cpp fake on its own port, and proxying goes over sockets.
import { FakeServer } from './fake-server.ts';
import type { FakeBehaviour, FakeModel, RequestContext } from './fake-server.ts';
import { asString, bodyRecord, unixSeconds } from './fake-util.ts';
import type { JsonRecord } from './fake-util.ts';
import { startOpenAIFake, type OpenAIFake } from './openai-fake.ts';
import { flavorError } from './openai-flavors.ts';

export type RouterModelStatus = 'unloaded' | 'loading' | 'loaded';

export interface LlamaCppRouterFakeOptions {
  /** `loaded: true` ones run from the start. */
  models?: FakeModel[];
  /** --models-autoload (default on): a request for a model not running loads it first. */
  autoload?: boolean;
  /** --models-max: past it, the least recently used model is unloaded. */
  modelsMax?: number;
  /** How long starting a child takes. */
  loadMs?: number;
  /** How long a child takes to exit once told to (the router answers /models/unload before). */
  unloadMs?: number;
  /** Models whose child exits with code 1 while loading. */
  failToLoad?: string[];
  behaviour?: Partial<FakeBehaviour>;
  /** Each child's behaviour (its slots as `capacity`, its pace), as each child is its own llama-server. */
  childBehaviour?: Partial<FakeBehaviour>;
  /** --api-key: every path but health and the model lists needs `Authorization: Bearer <key>` (the children listen on loopback, keyless). */
  apiKey?: string;
}

interface Entry {
  model: FakeModel;
  status: RouterModelStatus;
  failed: boolean;
  child: OpenAIFake | undefined;
  lastUsed: number;
  /** Settles when a load in progress ends. */
  loading: Promise<void> | undefined;
}

const DEFAULT_MODELS: FakeModel[] = [{ id: 'qwen2.5-7b', loaded: true }, { id: 'llama-3.2-3b' }, { id: 'phi-4-mini' }];
const PUBLIC_HEADERS = ['content-type', 'cache-control'];
// What llama-server answers without its API key.
const PUBLIC_PATHS = new Set(['/health', '/v1/health', '/models', '/v1/models']);

const invalid = (message: string) => flavorError('llamacpp', 400, message);

export class LlamaCppRouterFake extends FakeServer {
  readonly loads: string[] = [];
  readonly unloads: string[] = [];
  private readonly entries = new Map<string, Entry>();
  private readonly autoload: boolean;
  private readonly modelsMax: number;
  private readonly loadMs: number;
  private readonly unloadMs: number;
  private readonly failing: Set<string>;
  private readonly childBehaviour: Partial<FakeBehaviour> | undefined;
  private readonly apiKey: string | undefined;
  private clock = 0;

  constructor(options: LlamaCppRouterFakeOptions = {}) {
    const models = options.models ?? DEFAULT_MODELS;
    super(models, options.behaviour);
    this.autoload = options.autoload ?? true;
    this.modelsMax = options.modelsMax ?? 4;
    this.loadMs = options.loadMs ?? 30;
    this.unloadMs = options.unloadMs ?? 30;
    this.failing = new Set(options.failToLoad ?? []);
    this.childBehaviour = options.childBehaviour;
    this.apiKey = options.apiKey;
    for (const model of models) this.entries.set(model.id, { model: { ...model, loaded: true }, status: 'unloaded', failed: false, child: undefined, lastUsed: 0, loading: undefined });
  }

  override async start(): Promise<this> {
    await super.start();
    for (const entry of this.entries.values()) if (this.models.find((m) => m.id === entry.model.id)?.loaded === true) await this.spawn(entry);
    return this;
  }

  override async stop(): Promise<void> {
    await super.stop();
    await Promise.all([...this.entries.values()].map((entry) => entry.child?.stop()));
  }

  statusOf(model: string): RouterModelStatus | undefined {
    return this.entries.get(model)?.status;
  }

  /** The child serving a model now, to see what reached it. */
  child(model: string): OpenAIFake | undefined {
    return this.entries.get(model)?.child;
  }

  protected override errorBody(status: number, message: string): unknown {
    return flavorError('llamacpp', status, message);
  }

  protected override async handle(ctx: RequestContext): Promise<void> {
    const route = `${ctx.method} ${ctx.path}`;
    if (this.apiKey !== undefined && !PUBLIC_PATHS.has(ctx.path) && ctx.req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return ctx.json(401, flavorError('llamacpp', 401, 'Invalid API Key'));
    }
    if (route === 'GET /health' || route === 'GET /v1/health') return ctx.json(200, { status: 'ok' });
    if (route === 'GET /models' || route === 'GET /v1/models') return ctx.json(200, this.list());
    if (route === 'GET /props' && !ctx.query.has('model')) return ctx.json(200, this.props());
    if (route === 'POST /models/load') return this.loadRoute(ctx);
    if (route === 'POST /models/unload') return this.unloadRoute(ctx);
    const name = ctx.method === 'GET' ? (ctx.query.get('model') ?? '') : (asString(bodyRecord(ctx.body).model) ?? '');
    const entry = await this.validate(ctx, name);
    if (entry === undefined) return;
    if (ctx.method === 'POST') entry.lastUsed = ++this.clock;
    await this.proxy(ctx, entry);
  }

  private list(): JsonRecord {
    const created = unixSeconds();
    return {
      data: [...this.entries.values()].map((entry) => ({
        id: entry.model.id,
        object: 'model',
        owned_by: 'llamacpp',
        created,
        in_cache: false,
        path: `/models/${entry.model.id}.gguf`,
        status: { value: entry.status, args: ['llama-server', '-m', `/models/${entry.model.id}.gguf`], ...(entry.failed ? { failed: true, exit_code: 1 } : {}) },
      })),
      object: 'list',
    };
  }

  private props(): JsonRecord {
    return {
      role: 'router',
      max_instances: this.modelsMax,
      models_autoload: this.autoload,
      model_alias: 'llama-server',
      model_path: 'none',
      default_generation_settings: { params: {}, n_ctx: 0 },
      build_info: 'b7000-fake',
    };
  }

  /** router_validate_model: a name, a known model, and running (or autoloaded). */
  private async validate(ctx: RequestContext, name: string): Promise<Entry | undefined> {
    if (name === '') return void ctx.json(400, invalid('model name is missing from the request'));
    const entry = this.entries.get(name);
    if (entry === undefined) return void ctx.json(400, invalid(`model '${name}' not found`));
    const override = ctx.query.get('autoload');
    const autoload = override === null ? this.autoload : override === 'true' || override === '1';
    if (entry.status !== 'loaded') {
      if (!autoload) return void ctx.json(400, invalid('model is not loaded'));
      await this.ensureLoaded(entry);
      // The load may have failed meanwhile (TypeScript cannot see the await change it).
      // llama.cpp throws here, and its handler turns that into a 500.
      if ((entry.status as RouterModelStatus) !== 'loaded') return void ctx.json(500, { error: { code: 500, message: `model name=${name} failed to load`, type: 'server_error' } });
    }
    return entry;
  }

  private loadRoute(ctx: RequestContext): void {
    const entry = this.entries.get(asString(bodyRecord(ctx.body).model) ?? '');
    if (entry === undefined) return ctx.json(404, { error: { code: 404, message: 'model is not found', type: 'not_found_error' } });
    if (entry.status !== 'unloaded') return ctx.json(400, invalid('model is already running'));
    void this.ensureLoaded(entry);
    ctx.json(200, { success: true });
  }

  private unloadRoute(ctx: RequestContext): void {
    const entry = this.entries.get(asString(bodyRecord(ctx.body).model) ?? '');
    if (entry === undefined) return ctx.json(400, invalid('model is not found'));
    if (entry.status === 'unloaded') return ctx.json(400, invalid('model is not running'));
    void this.unload(entry);
    ctx.json(200, { success: true });
  }

  /** Sets `loading` at once (as the router does before it answers), then starts the child, or fails it. */
  private ensureLoaded(entry: Entry): Promise<void> {
    if (entry.status === 'loaded') return Promise.resolve();
    entry.loading ??= (async () => {
      entry.status = 'loading';
      entry.failed = false;
      this.loads.push(entry.model.id);
      await this.evictFor(entry);
      await new Promise((resolve) => setTimeout(resolve, this.loadMs));
      if (this.failing.has(entry.model.id)) {
        entry.status = 'unloaded';
        entry.failed = true;
        return;
      }
      await this.spawn(entry);
    })().finally(() => {
      entry.loading = undefined;
    });
    return entry.loading;
  }

  private async spawn(entry: Entry): Promise<void> {
    entry.child = await startOpenAIFake({ flavor: 'llamacpp', models: [entry.model], ...(this.childBehaviour === undefined ? {} : { behaviour: this.childBehaviour }) });
    entry.status = 'loaded';
    entry.lastUsed = ++this.clock;
  }

  private async unload(entry: Entry): Promise<void> {
    this.unloads.push(entry.model.id);
    await entry.loading;
    await new Promise((resolve) => setTimeout(resolve, this.unloadMs));
    const child = entry.child;
    entry.child = undefined;
    await child?.stop();
    entry.status = 'unloaded';
  }

  /** --models-max: the least recently used running model makes room. */
  private async evictFor(entry: Entry): Promise<void> {
    const running = [...this.entries.values()].filter((other) => other !== entry && other.status !== 'unloaded');
    if (running.length < this.modelsMax) return;
    const oldest = running.filter((other) => other.status === 'loaded').sort((a, b) => a.lastUsed - b.lastUsed)[0];
    if (oldest !== undefined) await this.unload(oldest);
  }

  /** Passes the request on to the child and streams its answer back as it comes. */
  private async proxy(ctx: RequestContext, entry: Entry): Promise<void> {
    const child = entry.child;
    if (child === undefined) return ctx.json(503, { error: { code: 503, message: 'no healthy backend available for model', type: 'unavailable_error' } });
    const query = ctx.query.toString();
    // The router strips its key from the children's arguments: they listen on loopback and take none.
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const answer = await fetch(`${child.url}${ctx.path}${query === '' ? '' : `?${query}`}`, {
      method: ctx.method,
      headers,
      ...(ctx.method === 'POST' ? { body: JSON.stringify(ctx.body ?? {}) } : {}),
      signal: ctx.signal,
    });
    const relayed: Record<string, string> = {};
    for (const name of PUBLIC_HEADERS) {
      const value = answer.headers.get(name);
      if (value !== null) relayed[name] = value;
    }
    ctx.res.writeHead(answer.status, relayed);
    if (answer.body === null) return void ctx.res.end();
    for await (const chunk of answer.body) ctx.res.write(chunk);
    ctx.res.end();
  }
}

export async function startLlamaCppRouterFake(options: LlamaCppRouterFakeOptions = {}): Promise<LlamaCppRouterFake> {
  return new LlamaCppRouterFake(options).start();
}
