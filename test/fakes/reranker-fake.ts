// Fake Cohere/Jina/Infinity-style rerank server: POST /rerank and /v1/rerank,
// GET /v1/models and /health. Scores are query/document word overlap.
import { FakeServer, hasCapability } from './fake-server.ts';
import type { FakeBehaviour, FakeModel, RequestContext } from './fake-server.ts';
import { asNumber, asString, bodyRecord, estimateTokens, isRecord, overlapScore, randomId, unixSeconds } from './fake-util.ts';
import type { JsonRecord } from './fake-util.ts';

export const DEFAULT_RERANKER_MODELS: FakeModel[] = [{ id: 'bge-reranker-v2-m3', capabilities: ['rerank'], contextLength: 8192 }];

/**
 * `cohere`: Cohere/Jina answers (`document: {text}`, `meta`). `infinity`:
 * michaelfeil/infinity's (`object: 'rerank'`, `document` a bare string,
 * `usage: {prompt_tokens, total_tokens}`, `capabilities: ['rerank']` in /models).
 */
export type RerankerStyle = 'cohere' | 'infinity';

export interface RerankerFakeOptions {
  models?: FakeModel[];
  style?: RerankerStyle;
  apiKey?: string;
  behaviour?: Partial<FakeBehaviour>;
}

export class RerankerFake extends FakeServer {
  private apiKey: string | undefined;
  readonly style: RerankerStyle;

  constructor(options: RerankerFakeOptions = {}) {
    super(options.models ?? DEFAULT_RERANKER_MODELS, options.behaviour);
    this.apiKey = options.apiKey;
    this.style = options.style ?? 'cohere';
  }

  setApiKey(key: string | undefined): void {
    this.apiKey = key;
  }

  protected override errorBody(_status: number, message: string): unknown {
    return { message };
  }

  protected override async handle(ctx: RequestContext): Promise<void> {
    const route = `${ctx.method} ${ctx.path}`;
    if (route === 'GET /health') return ctx.json(200, { unix: Date.now() / 1000 });
    if (this.apiKey !== undefined && ctx.req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return ctx.json(401, { message: 'invalid api token' });
    }
    if (route === 'GET /v1/models' || route === 'GET /models') {
      const created = unixSeconds();
      return ctx.json(200, {
        object: 'list',
        data: this.models.map((m) => ({ id: m.id, object: 'model', owned_by: 'infinity', created, backend: 'torch', capabilities: this.listedCapabilities(m) })),
      });
    }
    if (route === 'POST /rerank' || route === 'POST /v1/rerank' || route === 'POST /v2/rerank') return this.rerank(ctx);
    ctx.json(404, { detail: 'Not Found' });
  }

  /** Infinity names its capabilities `embed` and `rerank`; the Cohere-style fake lists ours. */
  private listedCapabilities(model: FakeModel): string[] {
    const capabilities = model.capabilities ?? ['rerank'];
    return this.style === 'infinity' ? capabilities.map((capability) => (capability === 'embedding' ? 'embed' : capability)) : capabilities;
  }

  private rerank(ctx: RequestContext): void {
    const body = bodyRecord(ctx.body);
    const name = asString(body.model) ?? this.models[0]?.id;
    const model = name === undefined ? undefined : this.findModel(name);
    if (model === undefined) {
      return ctx.json(404, { message: `model '${name ?? ''}' not found, make sure the correct model ID was used and that you have access to the model.` });
    }
    if (!hasCapability(model, 'rerank')) return ctx.json(400, { message: `model '${model.id}' does not support rerank` });
    const query = body.query;
    if (typeof query !== 'string' || query.length === 0) return ctx.json(400, { message: 'invalid request: query must be a non-empty string' });
    if (!Array.isArray(body.documents)) return ctx.json(400, { message: 'invalid request: documents must be an array' });
    const documents: string[] = [];
    for (const doc of body.documents) {
      if (typeof doc === 'string') documents.push(doc);
      else if (isRecord(doc) && typeof doc.text === 'string') documents.push(doc.text);
      else return ctx.json(400, { message: 'invalid request: each document must be a string or an object with a text field' });
    }
    const topN = asNumber(body.top_n);
    if (topN !== undefined && (!Number.isInteger(topN) || topN < 1)) return ctx.json(400, { message: 'invalid request: top_n must be a positive integer' });
    const withDocuments = body.return_documents === true;
    const infinity = this.style === 'infinity';
    const results: JsonRecord[] = documents
      .map((text, index) => ({ index, relevance_score: overlapScore(query, text), text }))
      .sort((a, b) => b.relevance_score - a.relevance_score)
      .slice(0, topN ?? documents.length)
      .map(({ index, relevance_score, text }) => ({ relevance_score, index, ...(withDocuments ? { document: infinity ? text : { text } } : {}) }));
    const totalTokens = documents.reduce((sum, d) => sum + estimateTokens(query) + estimateTokens(d), 0);
    if (infinity) {
      return ctx.json(200, { object: 'rerank', results, model: model.id, usage: { prompt_tokens: totalTokens, total_tokens: totalTokens }, id: `infinity-${randomId(32)}`, created: unixSeconds() });
    }
    ctx.json(200, {
      id: randomId(8) + '-' + randomId(4) + '-' + randomId(4) + '-' + randomId(4) + '-' + randomId(12),
      model: model.id,
      results,
      usage: { total_tokens: totalTokens },
      meta: { api_version: { version: '2' }, billed_units: { search_units: 1 } },
    });
  }
}

export async function startRerankerFake(options: RerankerFakeOptions = {}): Promise<RerankerFake> {
  return new RerankerFake(options).start();
}
