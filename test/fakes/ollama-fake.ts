// Fake Ollama server: native /api endpoints (NDJSON streaming by default) and
// the OpenAI-compatible /v1 endpoints, as Ollama 0.12 emits them.
import { FakeServer, hasCapability } from './fake-server.ts';
import type { FakeBehaviour, FakeModel, RequestContext } from './fake-server.ts';
import { asNumber, asString, bodyRecord, embedText, estimateTokens, planTokens, summariseMessages } from './fake-util.ts';
import type { JsonRecord } from './fake-util.ts';
import { serveOllamaV1 } from './ollama-v1.ts';
import { DEFAULT_OLLAMA_MODELS, ollamaEmbeddingLength, ollamaName, ollamaTimings, psEntry, sameOllamaModel, showResponse, tagsEntry } from './ollama-shapes.ts';

export { DEFAULT_OLLAMA_MODELS, ollamaName } from './ollama-shapes.ts';

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

  setPullCatalog(models: FakeModel[] | undefined): void {
    this.pullCatalog = models?.map((m) => ({ ...m }));
  }

  /** Finds a model accepting `mixtral` and `mixtral:latest` alike. */
  lookup(name: string): FakeModel | undefined {
    return this.models.find((m) => sameOllamaModel(m.id, name));
  }

  /** Marks a model as loaded (as a real request does) unless keep_alive is 0. */
  touch(model: FakeModel, keepAlive: unknown): void {
    model.loaded = !(keepAlive === 0 || keepAlive === '0' || keepAlive === '0s');
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
        const expires = new Date(Date.now() + 5 * 60_000);
        return ctx.json(200, { models: this.models.filter((m) => m.loaded === true).map((m) => psEntry(m, expires)) });
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
    await stream.send({ status: 'pulling manifest' });
    if (spec === undefined) {
      await stream.send({ error: failure });
      return stream.finish();
    }
    const digest = `sha256:${tagsEntry(spec).digest as string}`;
    const total = spec.sizeBytes ?? 4_000_000_000;
    for (const completed of [0, Math.floor(total / 2), total]) {
      await stream.send({ status: `pulling ${digest.slice(7, 19)}`, digest, total, completed });
    }
    await stream.send({ status: 'verifying sha256 digest' });
    await stream.send({ status: 'writing manifest' });
    this.install(spec);
    await stream.send({ status: 'success' });
    await stream.finish();
  }

  private install(spec: FakeModel): void {
    if (this.lookup(spec.id) === undefined) this.models.push({ ...spec });
  }
}

export async function startOllamaFake(options: OllamaFakeOptions = {}): Promise<OllamaFake> {
  return new OllamaFake(options).start();
}
