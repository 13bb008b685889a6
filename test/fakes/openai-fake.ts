// Fake OpenAI-compatible server in three flavours: vLLM, llama.cpp's
// llama-server, and a generic OpenAI-style endpoint.
import { nativePrompt, respondMessages, respondResponses } from './native-apis.ts';
import { FakeServer, hasCapability } from './fake-server.ts';
import type { FakeBehaviour, FakeModel, RequestContext } from './fake-server.ts';
import { asNumber, asString, bodyRecord, estimateTokens, planTokens, summariseMessages } from './fake-util.ts';
import type { JsonRecord } from './fake-util.ts';
import { completionPrompt, embeddingInputs, embeddingsList, parseGeneration, respondChat, respondCompletion } from './openai-compat.ts';
import {
  DEFAULT_OPENAI_MODELS,
  flavorError,
  llamacppMetrics,
  llamacppProps,
  llamacppSlots,
  modelList,
  vllmMetrics,
} from './openai-flavors.ts';
import type { ModelStats, OpenAIFlavor } from './openai-flavors.ts';
import { nativeCompletionPlan, respondNativeCompletion } from './llamacpp-native.ts';
import { respondVllmRerank, respondVllmScore, VLLM_RERANK_PATHS, VLLM_SCORE_PATHS } from './vllm-scoring.ts';

export { DEFAULT_OPENAI_MODELS } from './openai-flavors.ts';
export type { OpenAIFlavor } from './openai-flavors.ts';

export interface OpenAIFakeOptions {
  flavor?: OpenAIFlavor;
  models?: FakeModel[];
  apiKey?: string;
  behaviour?: Partial<FakeBehaviour>;
  /** vLLM only: false plays a release before 0.7, which scores on /v1/score but has no /v1/rerank. */
  vllmRerank?: boolean;
  /** vLLM only: started with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True (LoRA adapters load and unload at run time). */
  runtimeLora?: boolean;
}

/** Overrides for the load the fake reports; a key set to undefined returns to live values. */
export interface FakeLoad {
  running?: number;
  waiting?: number;
  kvCacheUsage?: number;
}

const LLAMACPP_PUBLIC = new Set(['/health', '/v1/health', '/models', '/v1/models']);

export class OpenAIFake extends FakeServer {
  readonly flavor: OpenAIFlavor;
  private apiKey: string | undefined;
  private readonly vllmRerank: boolean;
  private readonly runtimeLora: boolean;
  private load: FakeLoad = {};
  private readonly running = new Map<string, number>();
  private readonly totals = new Map<string, { prompt: number; generation: number; successes: number }>();

  constructor(options: OpenAIFakeOptions = {}) {
    super(options.models ?? DEFAULT_OPENAI_MODELS, options.behaviour);
    this.flavor = options.flavor ?? 'generic';
    this.apiKey = options.apiKey;
    this.vllmRerank = options.vllmRerank ?? true;
    this.runtimeLora = options.runtimeLora ?? false;
  }

  setApiKey(key: string | undefined): void {
    this.apiKey = key;
  }

  setLoad(load: FakeLoad): void {
    this.load = { ...this.load, ...load };
  }

  clearLoad(): void {
    this.load = {};
  }

  /** Generation requests in flight (for one model, or all). */
  activeRequests(model?: string): number {
    if (model !== undefined) return this.running.get(model) ?? 0;
    let sum = 0;
    for (const n of this.running.values()) sum += n;
    return sum;
  }

  protected override errorBody(status: number, message: string): unknown {
    return flavorError(this.flavor, status, message);
  }

  protected override async handle(ctx: RequestContext): Promise<void> {
    if (!this.authorised(ctx)) return this.unauthorised(ctx);
    const route = `${ctx.method} ${ctx.path}`;
    switch (route) {
      case 'GET /v1/models':
        return ctx.json(200, modelList(this.flavor, this.models));
      case 'POST /v1/chat/completions':
      case 'POST /v1/completions':
        return this.generate(ctx, route === 'POST /v1/chat/completions');
      case 'POST /v1/embeddings':
        return this.embeddings(ctx);
    }
    if (this.flavor === 'vllm') {
      if (route === 'POST /v1/messages' || route === 'POST /v1/responses') return this.nativeApi(ctx, route === 'POST /v1/messages' ? 'anthropic' : 'responses');
      if (route === 'GET /health') return ctx.text(200, '');
      if (route === 'GET /version') return ctx.json(200, { version: '0.10.1' });
      if (route === 'GET /metrics') return ctx.text(200, vllmMetrics(this.models, (m) => this.stats(m)), 'text/plain; version=0.0.4; charset=utf-8');
      if (VLLM_SCORE_PATHS.has(ctx.path) || (this.vllmRerank && VLLM_RERANK_PATHS.has(ctx.path))) return this.scoring(ctx);
      if (this.runtimeLora && route === 'POST /v1/load_lora_adapter') return this.loadLora(ctx);
      if (this.runtimeLora && route === 'POST /v1/unload_lora_adapter') return this.unloadLora(ctx);
      return ctx.json(404, { detail: 'Not Found' });
    }
    const primary = this.models[0];
    if (this.flavor === 'llamacpp' && primary !== undefined) {
      if (route === 'GET /health' || route === 'GET /v1/health') return ctx.json(200, { status: 'ok' });
      if (route === 'GET /props') return ctx.json(200, llamacppProps(primary));
      if (route === 'GET /slots') return ctx.json(200, llamacppSlots(primary, this.stats(primary).running));
      if (route === 'GET /metrics') return ctx.text(200, llamacppMetrics(this.stats(primary)), 'text/plain; version=0.0.4');
      if (route === 'POST /completion') return this.nativeCompletion(ctx, primary);
    }
    if (this.flavor === 'llamacpp') return ctx.json(404, flavorError('llamacpp', 404, 'File Not Found'));
    return ctx.json(404, flavorError('generic', 404, `Invalid URL (${ctx.method} ${ctx.path})`));
  }

  /** vLLM's own /v1/messages and /v1/responses (text answers; what a gateway passing them through relays). */
  private async nativeApi(ctx: RequestContext, api: 'anthropic' | 'responses'): Promise<void> {
    const body = bodyRecord(ctx.body);
    const resolved = this.resolveModel(ctx, asString(body.model));
    if (resolved === undefined) return;
    const { prompt, promptTokens } = nativePrompt(body, api);
    const maxTokens = asNumber(api === 'anthropic' ? body.max_tokens : body.max_output_tokens);
    const reply = { model: resolved.name, text: this.replyFor(resolved.name, prompt), promptTokens, maxTokens };
    await (api === 'anthropic' ? respondMessages(ctx, reply, body.stream === true) : respondResponses(ctx, reply, body.stream === true));
  }

  // vLLM's answers, as its serving_models.py words them.
  private loadLora(ctx: RequestContext): void {
    const body = (ctx.body ?? {}) as Record<string, unknown>;
    const name = typeof body['lora_name'] === 'string' ? body['lora_name'] : '';
    const path = typeof body['lora_path'] === 'string' ? body['lora_path'] : '';
    if (name === '' || path === '') return ctx.json(400, flavorError('vllm', 400, 'Both \'lora_name\' and \'lora_path\' must be provided.'));
    if (this.models.some((m) => m.id === name)) return ctx.json(400, flavorError('vllm', 400, `The lora adapter '${name}' has already been loaded.`));
    const base = this.models.find((m) => m.parent === undefined);
    this.models.push({ ...(base ?? { id: name }), id: name, root: path, ...(base === undefined ? {} : { parent: base.id }) });
    ctx.text(200, `Success: LoRA adapter '${name}' added successfully.`);
  }

  private unloadLora(ctx: RequestContext): void {
    const body = (ctx.body ?? {}) as Record<string, unknown>;
    const name = typeof body['lora_name'] === 'string' ? body['lora_name'] : '';
    if (!this.models.some((m) => m.id === name && m.parent !== undefined)) return ctx.json(404, flavorError('vllm', 404, `The lora adapter '${name}' cannot be found.`));
    this.models = this.models.filter((m) => m.id !== name);
    ctx.text(200, `Success: LoRA adapter '${name}' removed successfully.`);
  }

  private authorised(ctx: RequestContext): boolean {
    if (this.apiKey === undefined) return true;
    if (this.flavor === 'vllm' && !ctx.path.startsWith('/v1')) return true; // vLLM only guards /v1
    if (this.flavor === 'llamacpp' && LLAMACPP_PUBLIC.has(ctx.path)) return true;
    return ctx.req.headers.authorization === `Bearer ${this.apiKey}`;
  }

  private unauthorised(ctx: RequestContext): void {
    if (this.flavor === 'vllm') return ctx.json(401, { error: 'Unauthorized' });
    if (this.flavor === 'llamacpp') return ctx.json(401, flavorError('llamacpp', 401, 'Invalid API Key'));
    ctx.json(401, {
      error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
    });
  }

  /** Resolves the request's model per flavour, answering the error itself when it cannot. */
  private resolveModel(ctx: RequestContext, name: string | undefined): { model: FakeModel; name: string } | undefined {
    if (this.flavor === 'llamacpp') {
      // llama-server serves whatever it loaded and echoes the requested name.
      const model = (name !== undefined ? this.findModel(name) : undefined) ?? this.models[0];
      if (model === undefined) return void ctx.json(503, flavorError('llamacpp', 503, 'Loading model'));
      return { model, name: name ?? model.id };
    }
    if (name === undefined) {
      if (this.flavor === 'generic') return void ctx.json(400, flavorError('generic', 400, 'you must provide a model parameter'));
      const first = this.models[0];
      if (first === undefined) return void ctx.json(404, flavorError('vllm', 404, 'The model `None` does not exist.'));
      return { model: first, name: first.id }; // vLLM defaults to the served model
    }
    const model = this.findModel(name);
    if (model !== undefined) return { model, name };
    if (this.flavor === 'vllm') return void ctx.json(404, flavorError('vllm', 404, `The model \`${name}\` does not exist.`));
    ctx.json(404, {
      error: { message: `The model \`${name}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', param: null, code: 'model_not_found' },
    });
    return undefined;
  }

  private async generate(ctx: RequestContext, chat: boolean): Promise<void> {
    const body = bodyRecord(ctx.body);
    const resolved = this.resolveModel(ctx, asString(body.model));
    if (resolved === undefined) return;
    const { model, name } = resolved;
    const parsed = parseGeneration({ ...body, model: name });
    if (!parsed.ok) return ctx.json(400, flavorError(this.flavor, 400, parsed.message));
    if (!hasCapability(model, 'completion')) return this.unsupported(ctx, chat ? 'Chat Completions' : 'Completions');
    let prompt: string;
    let promptTokens: number;
    if (chat) {
      if (!Array.isArray(body.messages) || body.messages.length === 0) {
        return ctx.json(400, flavorError(this.flavor, 400, "'messages' is a required property and must be a non-empty array"));
      }
      ({ lastUser: prompt, promptTokens } = summariseMessages(body.messages));
    } else {
      const text = completionPrompt(body.prompt);
      if (text === undefined) return ctx.json(400, flavorError(this.flavor, 400, "'prompt' is a required property"));
      prompt = text;
      promptTokens = estimateTokens(text) + 1;
    }
    const request = parsed.value;
    if (this.contextExceeded(ctx, model, promptTokens, request.maxTokens)) return;
    const plan = { ...request, responseModel: name, text: this.replyFor(name, prompt), promptTokens, style: this.flavor };
    const totals = this.totalsFor(model.id);
    this.running.set(model.id, (this.running.get(model.id) ?? 0) + 1);
    try {
      await (chat ? respondChat(ctx, plan) : respondCompletion(ctx, plan));
      totals.successes++;
    } finally {
      this.running.set(model.id, (this.running.get(model.id) ?? 1) - 1);
      totals.prompt += promptTokens;
      totals.generation += planTokens(plan.text, request.maxTokens).tokens.length;
    }
  }

  /** llama-server's own /completion: serves its loaded model whatever the request names. */
  private async nativeCompletion(ctx: RequestContext, model: FakeModel): Promise<void> {
    const plan = nativeCompletionPlan(bodyRecord(ctx.body), model.id, (prompt) => this.replyFor(model.id, prompt));
    if (typeof plan === 'string') return ctx.json(400, flavorError('llamacpp', 400, plan));
    this.nativeCompletions++;
    this.running.set(model.id, (this.running.get(model.id) ?? 0) + 1);
    try {
      await respondNativeCompletion(ctx, plan);
    } finally {
      this.running.set(model.id, (this.running.get(model.id) ?? 1) - 1);
    }
  }

  /** Requests answered on llama.cpp's native /completion. */
  nativeCompletions = 0;

  private contextExceeded(ctx: RequestContext, model: FakeModel, promptTokens: number, maxTokens: number | undefined): boolean {
    const limit = model.contextLength ?? 4096;
    if (this.flavor === 'llamacpp') {
      if (promptTokens < limit) return false;
      ctx.json(400, flavorError('llamacpp', 400, 'the request exceeds the available context size, try increasing it', { n_prompt_tokens: promptTokens, n_ctx: limit }));
      return true;
    }
    const requested = promptTokens + (maxTokens ?? 0);
    if (requested <= limit && promptTokens < limit) return false;
    const message =
      this.flavor === 'vllm'
        ? `This model's maximum context length is ${limit} tokens. However, you requested ${requested} tokens (${promptTokens} in the messages, ${maxTokens ?? 0} in the completion). Please reduce the length of the messages or completion.`
        : `This model's maximum context length is ${limit} tokens. However, you requested ${requested} tokens. Please reduce the length of the messages or completion.`;
    const extra: JsonRecord = this.flavor === 'generic' ? { param: 'messages', code: 'context_length_exceeded' } : {};
    ctx.json(400, flavorError(this.flavor, 400, message, extra));
    return true;
  }

  private embeddings(ctx: RequestContext): void {
    const body = bodyRecord(ctx.body);
    const resolved = this.resolveModel(ctx, asString(body.model));
    if (resolved === undefined) return;
    const { model, name } = resolved;
    if (!hasCapability(model, 'embedding')) return this.unsupported(ctx, 'Embeddings');
    const inputs = embeddingInputs(body.input);
    if (inputs === undefined) return ctx.json(400, flavorError(this.flavor, 400, "'input' must be a string or a non-empty array of strings"));
    const list = embeddingsList(name, inputs, model.embeddingDimension ?? 1024, body.encoding_format);
    this.totalsFor(model.id).prompt += inputs.reduce((s, t) => s + estimateTokens(t), 0);
    ctx.json(200, list);
  }

  /** vLLM's /v1/rerank and /v1/score, for a model served with the score task; FastAPI answers 405 to any other method. */
  private scoring(ctx: RequestContext): void {
    if (ctx.method !== 'POST') return ctx.json(405, { detail: 'Method Not Allowed' });
    const resolved = this.resolveModel(ctx, asString(bodyRecord(ctx.body).model));
    if (resolved === undefined) return;
    const isRerank = VLLM_RERANK_PATHS.has(ctx.path);
    if (!hasCapability(resolved.model, 'rerank')) return this.unsupported(ctx, isRerank ? 'Rerank' : 'Score');
    if (isRerank) respondVllmRerank(ctx, resolved.name);
    else respondVllmScore(ctx, resolved.name);
  }

  private unsupported(ctx: RequestContext, api: 'Chat Completions' | 'Completions' | 'Embeddings' | 'Rerank' | 'Score'): void {
    if (this.flavor === 'llamacpp') {
      const message =
        api === 'Embeddings'
          ? 'This server does not support embeddings. Start it with `--embeddings`'
          : 'This server does not support completions. Start it without `--embeddings`';
      return ctx.json(501, flavorError('llamacpp', 501, message));
    }
    const message = this.flavor === 'vllm' ? `The model does not support ${api} API` : `This model does not support the ${api} API.`;
    ctx.json(400, flavorError(this.flavor, 400, message));
  }

  private totalsFor(id: string): { prompt: number; generation: number; successes: number } {
    let totals = this.totals.get(id);
    if (totals === undefined) {
      totals = { prompt: 0, generation: 0, successes: 0 };
      this.totals.set(id, totals);
    }
    return totals;
  }

  private stats(model: FakeModel): ModelStats {
    const live = this.flavor === 'llamacpp' ? this.activeRequests() : this.activeRequests(model.id);
    const whole = this.capacityModel?.readings() ?? null;
    // Slots, queue and prefix cache are the whole server's: vLLM reports them once (labelled with its served model), not once per model or LoRA adapter.
    const readings = whole === null || model === this.models[0] ? whole : { running: 0, waiting: 0, prefixHits: 0, prefixQueries: 0 };
    const running = this.load.running ?? readings?.running ?? live;
    const totals = this.totalsFor(model.id);
    return {
      running,
      waiting: this.load.waiting ?? readings?.waiting ?? 0,
      prefixHits: readings?.prefixHits ?? 0,
      prefixQueries: readings?.prefixQueries ?? 0,
      kvCacheUsage: this.load.kvCacheUsage ?? Math.min(1, running * 0.1),
      promptTokens: totals.prompt,
      generationTokens: totals.generation,
      successes: totals.successes,
    };
  }
}

export async function startOpenAIFake(options: OpenAIFakeOptions = {}): Promise<OpenAIFake> {
  return new OpenAIFake(options).start();
}
