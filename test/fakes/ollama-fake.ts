// Fake Ollama server: native /api endpoints (NDJSON streaming by default) and
// the OpenAI-compatible /v1 endpoints, as Ollama 0.12 emits them.
import { FakeServer, hasCapability } from './fake-server.ts';
import type { FakeBehaviour, FakeModel, RequestContext } from './fake-server.ts';
import { asNumber, asString, bodyRecord, embedText, estimateTokens, planTokens, summariseMessages } from './fake-util.ts';
import type { JsonRecord } from './fake-util.ts';
import { serveOllamaV1 } from './ollama-v1.ts';
import { DEFAULT_OLLAMA_MODELS, ollamaEmbeddingLength, ollamaName, ollamaTimings, psEntry, sameOllamaModel, showResponse, tagsEntry } from './ollama-shapes.ts';
import { keepAliveMs, streamPull, type PullScript } from './ollama-pull.ts';

export { DEFAULT_OLLAMA_MODELS, ollamaName } from './ollama-shapes.ts';
export type { PullScript } from './ollama-pull.ts';

export interface OllamaFakeOptions {
  models?: FakeModel[];
  version?: string;
  behaviour?: Partial<FakeBehaviour>;
}

const notFoundMessage = (name: string): string => `model "${name}" not found, try pulling it first`;

export class OllamaFake extends FakeServer {
  version: string;
  /** When set, /api/pull only knows these models; otherwise any name pulls as a generic model. */
  private pullCatalog: FakeModel[] | undefined;
  private pullScript: PullScript = {};
  /** When each loaded model unloads (epoch ms), as keep_alive set it; absent: the default 5 minutes from its last use. */
  private readonly expiresAt = new Map<FakeModel, number>();
  protected override jsonContentType = 'application/json; charset=utf-8';

  constructor(options: OllamaFakeOptions = {}) {
    super(options.models ?? DEFAULT_OLLAMA_MODELS, options.behaviour);
    this.version = options.version ?? '0.12.3';
  }

  /** A re-pull or upgrade: the model's digest changes (as /api/tags and /api/ps then report). */
  repull(name: string, digest: string): void {
    const model = this.lookup(name);
    if (model === undefined) throw new Error(`no model ${name}`);
    model.digest = digest;
  }

  /** How the next pulls behave: slow (`stepMs`), failing part-way (`failAfterSteps`, `failure`). */
  setPullScript(script: PullScript): void {
    this.pullScript = { ...script };
  }

  /** As if the server restarted: every model unloaded, none lost. */
  unloadAll(): void {
    for (const model of this.models) model.loaded = false;
    this.expiresAt.clear();
  }

  /** The model removed from disk behind the gateway's back (an operator ran `ollama rm`). */
  forget(name: string): void {
    this.models = this.models.filter((model) => !sameOllamaModel(model.id, name));
  }

  setPullCatalog(models: FakeModel[] | undefined): void {
    this.pullCatalog = models?.map((m) => ({ ...m }));
  }

  /** Finds a model accepting `mixtral` and `mixtral:latest` alike. */
  lookup(name: string): FakeModel | undefined {
    return this.models.find((m) => sameOllamaModel(m.id, name));
  }

  /** Marks a model as loaded (as a real request does) for keep_alive (default 5 minutes); 0 unloads it. */
  touch(model: FakeModel, keepAlive: unknown): void {
    const ms = keepAliveMs(keepAlive);
    model.loaded = ms > 0;
    if (ms > 0) this.expiresAt.set(model, Date.now() + ms);
    else this.expiresAt.delete(model);
  }

  reply(model: string, prompt: string): string {
    return this.replyFor(model, prompt);
  }

  protected override errorBody(status: number, message: string, path: string): unknown {
    if (path.startsWith('/v1/')) {
      const type = status === 400 ? 'invalid_request_error' : status === 404 ? 'not_found_error' : 'api_error';
      return { error: { message, type, param: null, code: null } };
    }
    return { error: message };
  }

  protected override async handle(ctx: RequestContext): Promise<void> {
    const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;
    const body = bodyRecord(ctx.body);
    switch (`${method} ${ctx.path}`) {
      case 'GET /':
        return ctx.text(200, 'Ollama is running');
      case 'GET /api/version':
        return ctx.json(200, { version: this.version });
      case 'GET /api/tags':
        return ctx.json(200, { models: this.models.map(tagsEntry) });
      case 'GET /api/ps': {
        const now = Date.now();
        const running = this.models.filter((m) => m.loaded === true && (this.expiresAt.get(m) ?? Number.POSITIVE_INFINITY) > now);
        // Ollama shows "for ever" (a negative keep_alive) as a date far in the future.
        const expiry = (m: FakeModel): Date => {
          const at = this.expiresAt.get(m);
          return new Date(at === undefined ? now + 5 * 60_000 : Number.isFinite(at) ? at : Date.parse('2318-03-15T00:00:00Z'));
        };
        return ctx.json(200, { models: running.map((m) => psEntry(m, expiry(m))) });
      }
      case 'POST /api/copy': {
        const source = this.lookup(asString(body.source) ?? '');
        const destination = asString(body.destination) ?? '';
        if (source === undefined) return ctx.json(404, { error: `model '${asString(body.source) ?? ''}' not found` });
        if (destination === '') return ctx.json(400, { error: 'destination is required' });
        this.models = this.models.filter((m) => !sameOllamaModel(m.id, destination));
        this.models.push({ ...source, id: ollamaName(destination), loaded: false, digest: tagsEntry(source).digest as string });
        return ctx.text(200, '', 'text/plain; charset=utf-8');
      }
      case 'POST /api/show': {
        const name = asString(body.model) ?? asString(body.name);
        if (name === undefined || name === '') return ctx.json(400, { error: 'model is required' });
        const model = this.lookup(name);
        return model === undefined ? ctx.json(404, { error: `model '${name}' not found` }) : ctx.json(200, showResponse(model));
      }
      case 'POST /api/chat':
        return this.generate(ctx, body, 'chat');
      case 'POST /api/generate':
        return this.generate(ctx, body, 'generate');
      case 'POST /api/embed':
      case 'POST /api/embeddings':
        return this.embed(ctx, body, ctx.path === '/api/embeddings');
      case 'POST /api/pull':
        return this.pull(ctx, body);
      case 'DELETE /api/delete': {
        const name = asString(body.model) ?? asString(body.name) ?? '';
        const model = this.lookup(name);
        if (model === undefined) return ctx.json(404, { error: `model '${name}' not found` });
        this.models = this.models.filter((m) => m !== model);
        return ctx.text(200, '', 'text/plain; charset=utf-8');
      }
      default:
        if (ctx.path.startsWith('/v1/') && (await serveOllamaV1(this, ctx))) return;
        return ctx.text(404, '404 page not found');
    }
  }

  private async generate(ctx: RequestContext, body: JsonRecord, kind: 'chat' | 'generate'): Promise<void> {
    const name = asString(body.model) ?? '';
    if (name === '') return ctx.json(400, { error: 'model is required' });
    const model = this.lookup(name);
    if (model === undefined) return ctx.json(404, { error: notFoundMessage(name) });
    if (!hasCapability(model, 'completion')) return ctx.json(400, { error: `"${name}" does not support ${kind}` });
    this.touch(model, body.keep_alive);
    const createdAt = (): string => new Date().toISOString();
    const field = (content: string): JsonRecord =>
      kind === 'chat' ? { message: { role: 'assistant', content } } : { response: content };

    let prompt: string;
    let promptTokens: number;
    if (kind === 'chat') {
      const messages = Array.isArray(body.messages) ? body.messages : [];
      ({ lastUser: prompt, promptTokens } = summariseMessages(messages));
      if (messages.length === 0) return ctx.json(200, { model: name, created_at: createdAt(), ...field(''), done_reason: 'load', done: true });
    } else {
      prompt = asString(body.prompt) ?? '';
      promptTokens = estimateTokens(prompt) + 4;
      if (prompt === '') return ctx.json(200, { model: name, created_at: createdAt(), response: '', done: true, done_reason: 'load' });
    }
    const options = bodyRecord(body.options);
    const numPredict = asNumber(options.num_predict);
    const { tokens, finish } = planTokens(this.replyFor(name, prompt), numPredict !== undefined && numPredict >= 0 ? numPredict : undefined);
    const final = (content: string): JsonRecord => ({
      model: name,
      created_at: createdAt(),
      ...field(content),
      done: true,
      done_reason: finish,
      ...(kind === 'generate' ? { context: Array.from({ length: Math.min(promptTokens + tokens.length, 16) }, (_, i) => 100 + i) } : {}),
      ...ollamaTimings(promptTokens, tokens.length),
    });
    if (body.stream === false) return ctx.json(200, final(tokens.join('')));
    const stream = ctx.stream('ndjson');
    for (const token of tokens) await stream.send({ model: name, created_at: createdAt(), ...field(token), done: false });
    await stream.send(final(''));
    await stream.finish();
  }

  private embed(ctx: RequestContext, body: JsonRecord, legacy: boolean): void {
    const name = asString(body.model) ?? '';
    if (name === '') return ctx.json(400, { error: 'model is required' });
    const model = this.lookup(name);
    if (model === undefined) return ctx.json(404, { error: notFoundMessage(name) });
    // Ollama's embed handler asks no capability: a generative model embeds too (its hidden state, pooled).
    this.touch(model, body.keep_alive);
    const dimension = ollamaEmbeddingLength(model);
    if (legacy) {
      const prompt = asString(body.prompt) ?? '';
      return ctx.json(200, { embedding: prompt === '' ? [] : embedText(prompt, dimension) });
    }
    const input = body.input;
    const inputs = typeof input === 'string' ? [input] : Array.isArray(input) ? input.filter((x): x is string => typeof x === 'string') : [];
    if (inputs.length === 0) return ctx.json(200, { model: name, embeddings: [] });
    const promptTokens = inputs.reduce((sum, text) => sum + estimateTokens(text), 0);
    const timings = ollamaTimings(promptTokens, 0);
    ctx.json(200, {
      model: name,
      embeddings: inputs.map((text) => embedText(text, dimension)),
      total_duration: timings.total_duration,
      load_duration: timings.load_duration,
      prompt_eval_count: promptTokens,
    });
  }

  private async pull(ctx: RequestContext, body: JsonRecord): Promise<void> {
    const name = asString(body.model) ?? asString(body.name) ?? '';
    if (name === '') return ctx.json(400, { error: 'model is required' });
    const spec: FakeModel | undefined =
      this.pullCatalog === undefined ? { id: ollamaName(name) } : this.pullCatalog.find((m) => sameOllamaModel(m.id, name));
    const failure = 'pull model manifest: file does not exist';
    if (body.stream === false) {
      if (spec === undefined) return ctx.json(500, { error: failure });
      this.install(spec);
      return ctx.json(200, { status: 'success' });
    }
    const stream = ctx.stream('ndjson');
    if (spec === undefined) {
      await stream.send({ status: 'pulling manifest' });
      await stream.send({ error: failure });
      return stream.finish();
    }
    try {
      if (await streamPull(stream, spec, ollamaName(name), this.pullScript, ctx.signal)) this.install(spec);
      await stream.finish();
    } catch {
      // The client went away mid-pull: Ollama stops and keeps what it has (the request records `aborted`).
    }
  }

  private install(spec: FakeModel): void {
    if (this.lookup(spec.id) === undefined) this.models.push({ ...spec });
  }
}

export async function startOllamaFake(options: OllamaFakeOptions = {}): Promise<OllamaFake> {
  return new OllamaFake(options).start();
}
