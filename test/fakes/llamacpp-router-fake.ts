// llama.cpp's llama-server in router mode: started without -m and with
// --models-dir, it lists every model it found, runs each loaded one in a child
// llama-server, and proxies each request to the child of the model the request
// names (tools/server/server-models.cpp). Here each child is a real
// single-model llama.cpp fake on its own 127.0.0.1 port, and the router
// proxies to it over a socket, streaming the answer through as it comes.
import { once } from 'node:events';
import { request } from 'undici';
import { FakeServer } from './fake-server.ts';
import type { FakeBehaviour, FakeModel, RequestContext } from './fake-server.ts';
import { asString, bodyRecord, sleep, unixSeconds } from './fake-util.ts';
import type { JsonRecord } from './fake-util.ts';
import { startOpenAIFake } from './openai-fake.ts';
import type { OpenAIFake } from './openai-fake.ts';
import { flavorError } from './openai-flavors.ts';

export type RouterModelStatus = 'unloaded' | 'loading' | 'loaded';

export interface LlamaCppRouterFakeOptions {
  /** The models of --models-dir; `loaded: true` ones are loaded by the time start() resolves. Default: three completion models, the first loaded. */
  models?: FakeModel[];
  /** --models-autoload (default true): a request naming a model that is not running loads it first. `?autoload=` overrides it per request. */
  autoload?: boolean;
  /** --models-max (default 4): a load past it first unloads the least recently used model. */
  modelsMax?: number;
  /** How long a child takes to load its model (default 30 ms). */
  loadMs?: number;
  /** Models whose child exits with code 1 while loading. */
  failToLoad?: string[];
  /** --api-key: guards every path but /health, /v1/health, /models and /v1/models; the children get it too. */
  apiKey?: string;
  /** How long a child takes to exit once told to (default 5 ms); /models/unload answers before. */
  unloadMs?: number;
  /** Latency and faults of the router itself. */
  behaviour?: Partial<FakeBehaviour>;
  /** Each child's behaviour (its slots as `capacity`, its pace), as each child is its own llama-server. */
  childBehaviour?: Partial<FakeBehaviour>;
}

export const DEFAULT_ROUTER_MODELS: FakeModel[] = [
  { id: 'qwen2.5-7b', capabilities: ['completion'], loaded: true },
  { id: 'llama-3.2-3b', capabilities: ['completion'] },
  { id: 'phi-4-mini', capabilities: ['completion'] },
];

/** One model of the router, as server_model_meta tracks it. */
interface Instance {
  readonly model: FakeModel;
  status: RouterModelStatus;
  /** Exit code of the last child; non-zero with `unloaded` is a failed load. */
  exitCode: number;
  child: OpenAIFake | undefined;
  /** Order of last use: load time, then every POST proxied to it (a counter, so two uses in one millisecond still order). */
  lastUsed: number;
  /** Settles when the load in progress ends, loaded or not. */
  loading: Promise<void> | undefined;
  /** Aborts the load in progress (unloading a loading model kills its process). */
  abortLoad: AbortController | undefined;
  /** Settles once the child is gone after an unload. */
  stopping: Promise<void> | undefined;
}

const PUBLIC_PATHS = new Set(['/health', '/v1/health', '/models', '/v1/models']);
/** Request headers the proxy does not pass on: hop-by-hop ones and those the HTTP client sets itself (server_http_proxy drops accept-encoding, transfer-encoding, content-length and rewrites host). */
const UNFORWARDED_REQUEST_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'accept-encoding', 'upgrade', 'expect', 'te', 'trailer', 'proxy-connection']);
/** Response headers the router does not relay (should_strip_proxy_header; date and connection Node sets itself). */
const UNRELAYED_RESPONSE_HEADERS = new Set(['server', 'transfer-encoding', 'content-length', 'keep-alive', 'connection', 'date']);

const invalid = (message: string): JsonRecord => flavorError('llamacpp', 400, message);
const isRunning = (instance: Instance): boolean => instance.status !== 'unloaded';
const isFailed = (instance: Instance): boolean => instance.status === 'unloaded' && instance.exitCode !== 0;
const modelPath = (name: string): string => `/models/${name}.gguf`;

export class LlamaCppRouterFake extends FakeServer {
  /** Models loaded after start (by /models/load or autoload), in order. */
  readonly loads: string[] = [];
  /** Models unloaded (by /models/unload or eviction), in order. */
  readonly unloads: string[] = [];
  private readonly instances = new Map<string, Instance>();
  private readonly autoload: boolean;
  private readonly modelsMax: number;
  private readonly loadMs: number;
  private readonly unloadMs: number;
  private readonly failing: Set<string>;
  private readonly apiKey: string | undefined;
  private readonly childBehaviour: Partial<FakeBehaviour> | undefined;
  private clock = 0;
  /** Loads run one at a time, so two requests autoloading at once evict one model, not two. */
  private loadQueue: Promise<void> = Promise.resolve();

  constructor(options: LlamaCppRouterFakeOptions = {}) {
    const models = options.models ?? DEFAULT_ROUTER_MODELS;
    super(models, options.behaviour);
    this.autoload = options.autoload ?? true;
    this.modelsMax = options.modelsMax ?? 4;
    this.loadMs = options.loadMs ?? 30;
    this.unloadMs = options.unloadMs ?? 5;
    this.failing = new Set(options.failToLoad ?? []);
    this.apiKey = options.apiKey;
    this.childBehaviour = options.childBehaviour;
    // std::map in the router: the list comes out sorted by name.
    for (const model of [...this.models].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      this.instances.set(model.id, { model, status: 'unloaded', exitCode: 0, child: undefined, lastUsed: 0, loading: undefined, abortLoad: undefined, stopping: undefined });
    }
    const atStart = this.models.filter((m) => m.loaded === true).length;
    if (this.modelsMax > 0 && atStart > this.modelsMax) {
      throw new Error(`number of models to load on startup (${atStart}) exceeds models_max (${this.modelsMax})`);
    }
  }

  override async start(): Promise<this> {
    await super.start();
    await this.loadStartupModels();
    return this;
  }

  /** Stops the router and every child, as the router's exit takes its children with it. */
  override async stop(): Promise<void> {
    await super.stop();
    await Promise.all([...this.instances.values()].map((instance) => this.reset(instance)));
  }

  /** A restarted router loads its startup models again. */
  override async restart(): Promise<void> {
    await super.restart();
    await this.loadStartupModels();
  }

  statusOf(model: string): RouterModelStatus {
    return this.instance(model).status;
  }

  /** The child serving a model now (undefined while it is not loaded), to see what reached it. */
  child(model: string): OpenAIFake | undefined {
    return this.instance(model).child;
  }

  protected override errorBody(status: number, message: string): unknown {
    return flavorError('llamacpp', status, message);
  }

  protected override async handle(ctx: RequestContext): Promise<void> {
    // The API key middleware runs before any route.
    if (this.apiKey !== undefined && !PUBLIC_PATHS.has(ctx.path) && ctx.req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return ctx.json(401, flavorError('llamacpp', 401, 'Invalid API Key'));
    }
    const route = `${ctx.method} ${ctx.path}`;
    if (route === 'GET /health' || route === 'GET /v1/health') return ctx.json(200, { status: 'ok' });
    if (route === 'GET /models' || route === 'GET /v1/models') return ctx.json(200, this.list());
    if (route === 'GET /props' && (ctx.query.get('model') ?? '') === '') return ctx.json(200, this.props());
    if (ctx.method === 'GET') return this.proxyGet(ctx);
    if (ctx.method !== 'POST') return ctx.json(404, flavorError('llamacpp', 404, 'File Not Found'));
    // Every POST handler starts with json::parse(req.body); a body that is not JSON is a 500 from ex_wrapper.
    if (ctx.body === undefined || typeof ctx.body === 'string') return ctx.json(500, flavorError('llamacpp', 500, parseErrorMessage(ctx.body)));
    if (route === 'POST /models/load') return this.loadRoute(ctx);
    if (route === 'POST /models/unload') return this.unloadRoute(ctx);
    return this.proxyPost(ctx);
  }

  private list(): JsonRecord {
    const created = unixSeconds();
    const data = [...this.instances.values()].map((instance) => {
      const name = instance.model.id;
      const status: JsonRecord = { value: instance.status, args: ['llama-server', '-m', modelPath(name)] };
      if (isFailed(instance)) Object.assign(status, { failed: true, exit_code: instance.exitCode });
      return { id: name, object: 'model', owned_by: 'llamacpp', created, in_cache: false, path: modelPath(name), status };
    });
    return { object: 'list', data };
  }

  private props(): JsonRecord {
    return {
      role: 'router',
      max_instances: this.modelsMax,
      models_autoload: this.autoload,
      // A dummy answer in llama.cpp too, so its web UI does not break.
      model_alias: 'llama-server',
      model_path: 'none',
      default_generation_settings: { params: {}, n_ctx: 0 },
      build_info: 'b7000-fake',
    };
  }

  private async proxyGet(ctx: RequestContext): Promise<void> {
    const instance = await this.validate(ctx, ctx.query.get('model') ?? '');
    if (instance !== undefined) await this.proxy(ctx, instance, false);
  }

  private async proxyPost(ctx: RequestContext): Promise<void> {
    const instance = await this.validate(ctx, asString(bodyRecord(ctx.body).model) ?? '');
    if (instance !== undefined) await this.proxy(ctx, instance, true); // only a POST counts as use
  }

  /** router_validate_model, with is_autoload's per-request override. */
  private async validate(ctx: RequestContext, name: string): Promise<Instance | undefined> {
    if (name === '') return void ctx.json(400, invalid('model name is missing from the request'));
    const instance = this.instances.get(name);
    if (instance === undefined) return void ctx.json(400, invalid(`model '${name}' not found`));
    const override = ctx.query.get('autoload') ?? '';
    const autoload = override === '' ? this.autoload : override === 'true' || override === '1';
    if (!autoload) {
      if (!isRunning(instance)) return void ctx.json(400, invalid('model is not loaded'));
      return instance;
    }
    // ensure_model_ready: load it unless it is running, then wait for any load in progress to end.
    try {
      if (!isRunning(instance)) await this.load(instance);
    } catch (err) {
      return void ctx.json(500, flavorError('llamacpp', 500, err instanceof Error ? err.message : String(err)));
    }
    await instance.loading;
    if (isFailed(instance)) return void ctx.json(503, flavorError('llamacpp', 503, 'model failed to load'));
    return instance;
  }

  private async loadRoute(ctx: RequestContext): Promise<void> {
    const instance = this.instances.get(asString(bodyRecord(ctx.body).model) ?? '');
    if (instance === undefined) return ctx.json(404, flavorError('llamacpp', 404, 'model is not found'));
    if (isRunning(instance)) return ctx.json(400, invalid('model is already running'));
    try {
      await this.load(instance); // returns once the model is `loading` (and any eviction is done), not loaded
    } catch (err) {
      return ctx.json(500, flavorError('llamacpp', 500, err instanceof Error ? err.message : String(err)));
    }
    ctx.json(200, { success: true });
  }

  private unloadRoute(ctx: RequestContext): void {
    const instance = this.instances.get(asString(bodyRecord(ctx.body).model) ?? '');
    if (instance === undefined) return ctx.json(400, invalid('model is not found'));
    if (!isRunning(instance)) return ctx.json(400, invalid('model is not running'));
    void this.unload(instance);
    ctx.json(200, { success: true });
  }

  /**
   * server_models::load: makes room under --models-max first (waiting until the
   * evicted model is gone), then marks the model `loading` and starts its child
   * in the background. Resolves once the load has begun.
   */
  private load(instance: Instance): Promise<void> {
    const queued = this.loadQueue.then(async () => {
      if (isRunning(instance)) return; // another request started it meanwhile
      await this.unloadLeastRecentlyUsed();
      if (isRunning(instance)) return;
      if (this.modelsMax > 0 && this.runningCount() >= this.modelsMax) throw new Error('model limit reached, try again later');
      this.loads.push(instance.model.id);
      this.begin(instance, this.loadMs);
    });
    this.loadQueue = queued.catch(() => undefined);
    return queued;
  }

  /** Marks a model `loading` and starts its child after `delayMs`; a failing model's child exits with 1 instead. */
  private begin(instance: Instance, delayMs: number): void {
    const abort = new AbortController();
    instance.status = 'loading';
    instance.lastUsed = ++this.clock;
    instance.abortLoad = abort;
    instance.loading = (async () => {
      await sleep(delayMs, abort.signal);
      if (abort.signal.aborted) return; // killed while loading: whoever aborted set the status
      if (this.failing.has(instance.model.id)) {
        instance.status = 'unloaded';
        instance.exitCode = 1;
        return;
      }
      const child = await startOpenAIFake({
        flavor: 'llamacpp',
        models: [instance.model],
        ...(this.apiKey === undefined ? {} : { apiKey: this.apiKey }),
        ...(this.childBehaviour === undefined ? {} : { behaviour: this.childBehaviour }),
      });
      if (abort.signal.aborted) return void (await child.stop());
      instance.child = child;
      instance.status = 'loaded';
      instance.exitCode = 0;
    })().finally(() => {
      if (instance.abortLoad === abort) instance.abortLoad = undefined;
    });
  }

  /** unload_lru: at --models-max, the running model used longest ago goes, and the load waits until it has. */
  private async unloadLeastRecentlyUsed(): Promise<void> {
    if (this.modelsMax <= 0) return;
    const running = [...this.instances.values()].filter(isRunning);
    if (running.length < this.modelsMax) return;
    const oldest = running.reduce((a, b) => (b.lastUsed < a.lastUsed ? b : a));
    await this.unload(oldest);
  }

  /**
   * server_models::unload: a loaded model's child is told to exit and the status
   * turns `unloaded` once it has (exit code 0); a loading one is killed, which
   * the router reports as a failed exit (code 1).
   */
  private unload(instance: Instance): Promise<void> {
    if (instance.stopping !== undefined) return instance.stopping;
    this.unloads.push(instance.model.id);
    if (instance.status === 'loading') {
      instance.abortLoad?.abort();
      instance.status = 'unloaded';
      instance.exitCode = 1;
      return Promise.resolve();
    }
    instance.stopping = (async () => {
      await sleep(this.unloadMs);
      const child = instance.child;
      instance.child = undefined;
      await child?.stop();
      instance.status = 'unloaded';
      instance.exitCode = 0;
    })().finally(() => {
      instance.stopping = undefined;
    });
    return instance.stopping;
  }

  /** Passes the request on to the model's child and relays its answer, streaming it chunk by chunk. */
  private async proxy(ctx: RequestContext, instance: Instance, countsAsUse: boolean): Promise<void> {
    if (!isRunning(instance)) return ctx.json(400, invalid(`model name=${instance.model.id} is not running`));
    // Still loading (autoload off): the child is up but answers that it is loading, as llama-server does.
    const child = instance.child;
    if (child === undefined) return ctx.json(503, flavorError('llamacpp', 503, 'Loading model'));
    if (countsAsUse) instance.lastUsed = ++this.clock;
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(ctx.req.headers)) {
      if (value !== undefined && !UNFORWARDED_REQUEST_HEADERS.has(name)) headers[name] = value;
    }
    let answer: Awaited<ReturnType<typeof request>>;
    try {
      answer = await request(`${child.url}${ctx.req.url ?? ctx.path}`, {
        method: ctx.method === 'POST' ? 'POST' : 'GET',
        headers,
        ...(ctx.method === 'POST' ? { body: JSON.stringify(ctx.body) } : {}),
        signal: ctx.signal,
      });
    } catch (err) {
      if (ctx.signal.aborted) return;
      // server_http_proxy answers a failed connection with 500 and httplib's error text.
      return ctx.text(500, `proxy error: Could not establish connection (${err instanceof Error ? err.message : String(err)})`);
    }
    const relayed: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !UNRELAYED_RESPONSE_HEADERS.has(name) && !name.startsWith('access-control-')) relayed[name] = value;
    }
    ctx.res.writeHead(answer.statusCode, relayed);
    ctx.res.flushHeaders();
    try {
      for await (const chunk of answer.body) {
        if (!ctx.res.write(chunk as Buffer)) await once(ctx.res, 'drain', { signal: ctx.signal });
      }
    } catch (err) {
      if (ctx.signal.aborted || ctx.res.destroyed) return; // the client left: the child call is cancelled with it
      // The child broke off mid-answer: the router's proxy appends its error text and ends the response.
      ctx.res.write(`proxy error: Failed to read connection (${err instanceof Error ? err.message : String(err)})`);
    }
    ctx.res.end();
  }

  private runningCount(): number {
    return [...this.instances.values()].filter(isRunning).length;
  }

  private async loadStartupModels(): Promise<void> {
    const startup = [...this.instances.values()].filter((instance) => instance.model.loaded === true && !isRunning(instance));
    for (const instance of startup) this.begin(instance, 0);
    await Promise.all(startup.map((instance) => instance.loading));
  }

  /** Back to unloaded with no child, cancelling any load (the router process went away). */
  private async reset(instance: Instance): Promise<void> {
    instance.abortLoad?.abort();
    await instance.stopping;
    const child = instance.child;
    instance.child = undefined;
    instance.status = 'unloaded';
    instance.exitCode = 0;
    await child?.stop();
  }

  private instance(model: string): Instance {
    const instance = this.instances.get(model);
    if (instance === undefined) throw new Error(`the router fake has no model '${model}'`);
    return instance;
  }
}

/** nlohmann::json's words for a body it cannot parse. */
function parseErrorMessage(raw: string | undefined): string {
  if (raw === undefined) return '[json.exception.parse_error.101] parse error at line 1, column 1: attempting to parse an empty input; check that the input actually contains data';
  return `[json.exception.parse_error.101] parse error at line 1, column 1: syntax error while parsing value - invalid literal; last read: '${raw.slice(0, 1)}'`;
}

export async function startLlamaCppRouterFake(options: LlamaCppRouterFakeOptions = {}): Promise<LlamaCppRouterFake> {
  return new LlamaCppRouterFake(options).start();
}
