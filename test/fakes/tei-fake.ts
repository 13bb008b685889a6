// Fake Hugging Face text-embeddings-inference (TEI 1.8) router: /info,
// /embed, /rerank, /v1/embeddings, /health and /metrics.
import { FakeServer } from './fake-server.ts';
import type { FakeBehaviour, RequestContext } from './fake-server.ts';
import { asString, bodyRecord, embedText, embedWords, estimateTokens, overlapScore, promFamily, sha256Hex } from './fake-util.ts';
import type { JsonRecord } from './fake-util.ts';
import { embeddingInputs, embeddingsList } from './openai-compat.ts';

export type TeiKind = 'embedding' | 'reranker';

export interface TeiFakeOptions {
  modelId?: string;
  kind?: TeiKind;
  dimension?: number;
  maxInputLength?: number;
  /** Texts per request; above it TEI answers 413 `Validation` (default 32, TEI's own). */
  maxClientBatchSize?: number;
  /** Reported on /info only: real TEI queues a larger client batch, it does not refuse it (default 16384). */
  maxBatchTokens?: number;
  /** Requests in flight at once; above it TEI answers 429 `Overloaded` (default 512). */
  maxConcurrentRequests?: number;
  behaviour?: Partial<FakeBehaviour>;
  /**
   * `hash` (default): unrelated vectors for any two texts. `words`: a bag of
   * words, so texts sharing most words are close (a semantic cache's test
   * needs near neighbours with a known similarity).
   */
  embedding?: 'hash' | 'words';
}

/** TEI error types and the HTTP status TEI maps each to. */
type TeiErrorType = 'Empty' | 'Validation' | 'Backend' | 'Tokenizer' | 'Overloaded' | 'Unhealthy';
const TEI_STATUS: Record<TeiErrorType, number> = { Empty: 400, Validation: 413, Backend: 424, Tokenizer: 422, Overloaded: 429, Unhealthy: 503 };

class TeiError extends Error {
  readonly type: TeiErrorType;
  constructor(type: TeiErrorType, message: string) {
    super(message);
    this.type = type;
  }
}

export class TeiFake extends FakeServer {
  readonly modelId: string;
  readonly kind: TeiKind;
  readonly dimension: number;
  readonly maxInputLength: number;
  readonly maxClientBatchSize: number;
  readonly maxBatchTokens: number;
  readonly maxConcurrentRequests: number;
  private permitsTaken = 0;
  private inferenceGate: Promise<void> | null = null;
  private queueSize = 0;
  private readonly embedding: 'hash' | 'words';
  private batchSize = 0;
  private readonly counts = new Map<string, { requests: number; successes: number }>();

  constructor(options: TeiFakeOptions = {}) {
    const modelId = options.modelId ?? 'general';
    const kind = options.kind ?? 'embedding';
    const dimension = options.dimension ?? 384;
    super([{ id: modelId, capabilities: [kind === 'embedding' ? 'embedding' : 'rerank'], embeddingDimension: dimension }], options.behaviour);
    this.modelId = modelId;
    this.kind = kind;
    this.dimension = dimension;
    this.maxInputLength = options.maxInputLength ?? 512;
    this.embedding = options.embedding ?? 'hash';
    this.maxClientBatchSize = options.maxClientBatchSize ?? 32;
    this.maxBatchTokens = options.maxBatchTokens ?? 16384;
    this.maxConcurrentRequests = options.maxConcurrentRequests ?? 512;
  }

  /** Fault: answers embeddings of this many dimensions (as if another model had been loaded); null restores the model's own. */
  answerDimension: number | null = null;

  /** Fault: an embedding request holding a text that contains this answers TEI's backend error (424); null: none. */
  failTextsContaining: string | null = null;

  /** Texts received in embedding requests (/embed and /v1/embeddings), over the recorded requests. */
  inputsReceived(): number {
    return this.embeddingBatches().reduce((sum, batch) => sum + batch.length, 0);
  }

  /** The texts of each embedding request received, in arrival order. */
  embeddingBatches(): string[][] {
    return this.requests
      .filter((request) => request.method === 'POST' && (request.path === '/embed' || request.path === '/v1/embeddings'))
      .map((request) => {
        const body = bodyRecord(request.body);
        return embeddingInputs(request.path === '/embed' ? body.inputs : body.input) ?? [];
      });
  }

  /** Holds every request that got a permit until the returned function is called (to fill TEI's permits). */
  pauseInference(): () => void {
    let release = (): void => undefined;
    this.inferenceGate = new Promise<void>((resolve) => {
      release = () => {
        this.inferenceGate = null;
        resolve();
      };
    });
    return release;
  }

  /** Requests holding one of TEI's max_concurrent_requests permits. */
  permitsInUse(): number {
    return this.permitsTaken;
  }

  /** Overrides te_queue_size / te_batch_current_size in /metrics. */
  setLoad(load: { queueSize?: number; batchSize?: number }): void {
    this.queueSize = load.queueSize ?? this.queueSize;
    this.batchSize = load.batchSize ?? this.batchSize;
  }

  info(): JsonRecord {
    const modelType =
      this.kind === 'embedding'
        ? { embedding: { pooling: 'mean' } }
        : { reranker: { id2label: { '0': 'LABEL_0' }, label2id: { LABEL_0: 0 } } };
    return {
      model_id: this.modelId,
      model_sha: null,
      model_dtype: 'float16',
      model_type: modelType,
      max_concurrent_requests: this.maxConcurrentRequests,
      max_input_length: this.maxInputLength,
      max_batch_tokens: this.maxBatchTokens,
      max_batch_requests: null,
      max_client_batch_size: this.maxClientBatchSize,
      auto_truncate: false,
      tokenization_workers: 2,
      version: '1.8.0',
      sha: sha256Hex('tei-1.8.0').slice(0, 40),
      docker_label: `sha-${sha256Hex('tei-1.8.0').slice(0, 7)}`,
    };
  }

  protected override errorBody(status: number, message: string, path: string): unknown {
    const type: TeiErrorType = status === 413 ? 'Validation' : status === 429 ? 'Overloaded' : status === 503 ? 'Unhealthy' : 'Backend';
    return path.startsWith('/v1/') ? { message, code: status, type } : { error: message, error_type: type };
  }

  protected override async handle(ctx: RequestContext): Promise<void> {
    const body = bodyRecord(ctx.body);
    const route = `${ctx.method} ${ctx.path}`;
    if (route === 'GET /info') return ctx.json(200, this.info());
    if (route === 'GET /health') return ctx.text(200, '');
    if (route === 'GET /metrics') return ctx.text(200, this.metrics(), 'text/plain; version=0.0.4');
    const method = route === 'POST /embed' ? 'embed' : route === 'POST /rerank' ? 'rerank' : route === 'POST /v1/embeddings' ? 'embed' : undefined;
    if (method === undefined) return ctx.text(404, '', 'text/plain');
    const count = this.counts.get(method) ?? { requests: 0, successes: 0 };
    this.counts.set(method, count);
    count.requests++;
    let hasPermit = false;
    try {
      // TEI takes a permit per request and refuses, not queues, when none is left.
      if (this.permitsTaken >= this.maxConcurrentRequests) throw new TeiError('Overloaded', 'Model is overloaded');
      this.permitsTaken++;
      hasPermit = true;
      if (this.inferenceGate !== null) await this.inferenceGate;
      if (route === 'POST /rerank') ctx.json(200, this.rerank(body));
      else if (route === 'POST /embed') ctx.json(200, this.embed(body.inputs, body.truncate === true, body.normalize !== false));
      else {
        const inputs = embeddingInputs(body.input);
        if (inputs === undefined) throw new TeiError('Empty', 'Input validation error: `input` cannot be empty');
        this.embed(inputs, false, true);
        ctx.json(200, embeddingsList(asString(body.model) ?? this.modelId, inputs, this.answerDimension ?? this.dimension, body.encoding_format));
      }
      count.successes++;
    } catch (err) {
      if (!(err instanceof TeiError)) throw err;
      const status = TEI_STATUS[err.type];
      ctx.json(status, ctx.path.startsWith('/v1/') ? { message: err.message, code: status, type: err.type } : { error: err.message, error_type: err.type });
    } finally {
      if (hasPermit) this.permitsTaken--;
    }
  }

  private checkInput(text: string, truncate: boolean): void {
    const tokens = estimateTokens(text) + 2; // [CLS] … [SEP]
    if (!truncate && tokens > this.maxInputLength) {
      throw new TeiError('Validation', `Input validation error: \`inputs\` must have less than ${this.maxInputLength} tokens. Given: ${tokens}`);
    }
  }

  private embed(raw: unknown, truncate: boolean, normalize: boolean): number[][] {
    const inputs = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : [];
    if (inputs.length === 0) throw new TeiError('Empty', 'Input validation error: `inputs` cannot be empty');
    const marker = this.failTextsContaining;
    if (marker !== null && inputs.some((text) => text.includes(marker))) throw new TeiError('Backend', 'Backend error: injected failure');
    if (inputs.length > this.maxClientBatchSize) {
      throw new TeiError('Validation', `Input validation error: batch size ${inputs.length} > maximum allowed batch size ${this.maxClientBatchSize}`);
    }
    if (this.kind !== 'embedding') throw new TeiError('Backend', 'Backend error: Inference error: `embed` is not available for re-ranker models');
    for (const text of inputs) this.checkInput(text, truncate);
    return inputs.map((text) => {
      const dimension = this.answerDimension ?? this.dimension;
      const vector = this.embedding === 'words' ? embedWords(text, dimension) : embedText(text, dimension);
      return normalize ? vector : vector.map((x) => Math.fround(x * 5.25));
    });
  }

  private rerank(body: JsonRecord): JsonRecord[] {
    const query = asString(body.query) ?? '';
    const texts = Array.isArray(body.texts) ? body.texts.filter((x): x is string => typeof x === 'string') : [];
    if (texts.length === 0) throw new TeiError('Empty', '`texts` cannot be empty');
    if (texts.length > this.maxClientBatchSize) {
      throw new TeiError('Validation', `Input validation error: batch size ${texts.length} > maximum allowed batch size ${this.maxClientBatchSize}`);
    }
    if (this.kind !== 'reranker') throw new TeiError('Backend', 'Backend error: model is not a re-ranker model');
    const truncate = body.truncate === true;
    for (const text of texts) this.checkInput(`${query} ${text}`, truncate);
    const rawScores = body.raw_scores === true;
    return texts
      .map((text, index) => {
        const p = overlapScore(query, text);
        const score = rawScores ? Math.log(p / (1 - p)) : p; // raw = logit, default = sigmoid(logit)
        return { index, score, ...(body.return_text === true ? { text } : {}) };
      })
      .sort((a, b) => b.score - a.score);
  }

  private metrics(): string {
    const perMethod = (pick: (c: { requests: number; successes: number }) => number) =>
      [...this.counts.entries()].map(([method, c]) => ({ labels: { method }, value: pick(c) }));
    return [
      promFamily('te_request_count', 'counter', undefined, perMethod((c) => c.requests)),
      promFamily('te_request_success', 'counter', undefined, perMethod((c) => c.successes)),
      promFamily('te_queue_size', 'gauge', undefined, [{ value: this.queueSize }]),
      promFamily('te_batch_current_size', 'gauge', undefined, [{ value: this.batchSize }]),
      promFamily('te_batch_current_max_tokens', 'gauge', undefined, [{ value: 0 }]),
    ].join('\n');
  }
}

export async function startTeiFake(options: TeiFakeOptions = {}): Promise<TeiFake> {
  return new TeiFake(options).start();
}
