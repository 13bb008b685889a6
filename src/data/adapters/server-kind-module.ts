import type { ModelServer, ServerModel } from '../../domain/model-server.ts';
import type { NativeRequest, Operation, UpstreamPlan } from './inference-mapping.ts';
import type { AdapterContext, DiscoveredModel, LoadMetrics, ProbeResult } from './server-adapter.ts';

/** One signature endpoint's answer during detection (always a GET, never a generation). */
export interface DetectionAnswer {
  ok: boolean;
  status: number | null;
  /** Parsed JSON, or null when the body is not JSON. */
  body: unknown;
  text: string;
}

/** Answers by path; every rule's paths are asked once, all at the same time. */
export type DetectionAnswers = ReadonlyMap<string, DetectionAnswer>;

export interface DetectionMatch {
  flavor: string | null;
  /** The answer that decided it, e.g. "GET /props". */
  detectedBy: string;
  version: string | null;
}

/** How a kind recognises itself at a URL. */
export interface DetectionRule {
  paths: readonly string[];
  /**
   * Higher is more specific and is tried first: Ollama's /api/version (100)
   * beats vLLM's metrics (80), which beats any server that lists /v1/models (10).
   */
  precedence: number;
  recognise(answers: DetectionAnswers): DetectionMatch | null;
}

/** What the server says about its own load, as far as it says anything. */
export interface KindCapacity {
  running: number | null;
  waiting: number | null;
  /** Requests it can run at once (llama.cpp slots), when known. */
  max: number | null;
  /** What routing counts as the server's own queue ahead of a new request. */
  queue: number;
}

/** One per-server setting a kind takes (rendered by the console, validated by the kind). */
export interface KindConfigField {
  name: string;
  label: string;
  type: 'text' | 'list' | 'json' | 'select';
  required: boolean;
  placeholder?: string;
  options?: readonly string[];
  help?: string;
}

export type KindConfigCheck = { ok: true; value: Record<string, unknown> } | { ok: false; field: string; message: string };

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * Everything Switchyard knows about one kind of model server. A kind is one
 * folder exporting one of these; detection, health checks, the proxy, the
 * model index, the CLI and the console read kinds only through this.
 */
export interface ServerKindModule {
  /** Stored as the server's `server_type`; lower-case letters, digits, `-`. */
  readonly id: string;
  readonly label: string;
  readonly description: string;
  /** How auto-detection finds it; empty when it must be chosen by hand. */
  readonly detection: readonly DetectionRule[];
  /** Per-server settings (`kind_config`); absent when the kind takes none. */
  readonly config?: {
    readonly fields: readonly KindConfigField[];
    /** Every setting is optional: a server given none stores none (`kind_config: null`). */
    readonly optional?: boolean;
    check(raw: unknown): KindConfigCheck;
  };
  /**
   * True when a capability guessed from a model's name may refuse a request
   * before it is sent (vLLM runs one task per served model, and the families
   * served for embeddings or rerank are named so). Absent: a guess never
   * refuses; the server is asked and answers for itself.
   */
  readonly namesTellCapabilities?: boolean;
  /**
   * True when the server embeds with any model that generates text, not only
   * with embedders (Ollama's /api/embed takes `mixtral` too). Such a model
   * keeps `chat`/`completion` as its capabilities (auto-selection and the
   * console still see a chat model), yet is never refused embeddings and may
   * own a vector collection: see `canEmbed` and decision 0017.
   */
  readonly generatorsEmbed?: boolean;
  /** Headers that carry the server's stored key, on probes and requests alike. */
  authHeaders(apiKey: string | null, server: Pick<ModelServer, 'kindConfig'>): Record<string, string>;
  /**
   * Lists models and reads load, with listing, info and metrics endpoints only:
   * a probe never wakes a model or bills a call. `previous` holds the last
   * probe's models, so per-model details are fetched only for new ones.
   */
  probe(context: AdapterContext, previous: ReadonlyMap<string, DiscoveredModel>): Promise<ProbeResult>;
  /** One real embed call to learn a dimension the server does not state. */
  probeEmbeddingDimension(context: AdapterContext, modelId: string): Promise<number | null>;
  /**
   * The request for one operation on one server; null when the kind cannot
   * serve it. `model` is the deployment's model as the probe found it: its
   * `details` say which API the server speaks for it (TEI's native one, vLLM's
   * rerank or score) when the kind serves more than one.
   */
  plan(operation: Operation, body: Record<string, unknown>, modelId: string, server: ModelServer, model?: Pick<ServerModel, 'details'>): UpstreamPlan | null;
  /** Tokens from an answer the server sent untranslated (OpenAI-shaped kinds search the bytes). */
  readUsage(answer: Buffer): TokenUsage;
  /**
   * The request passed through as it came, for a kind that speaks the
   * caller's native API (Ollama's own, for Ollama); absent or null: the
   * caller's request is translated to OpenAI's and planned as usual.
   */
  native?(request: NativeRequest, modelId: string, server: ModelServer): UpstreamPlan | null;
  /** `modelId`: the figures of that model alone, where the server reports them per model (`LoadMetrics.perModel`). */
  capacity(load: LoadMetrics | undefined, modelId?: string): KindCapacity;
  /** Pulling, deleting, copying, loading and unloading models; absent when the kind manages none. */
  readonly lifecycle?: KindLifecycle;
}

/** One line of a pull's progress, summed over the layers seen so far. */
export interface PullProgress {
  message: string;
  completed?: number;
  total?: number;
  digest?: string;
}

/**
 * Managing the models on one server (docs/decisions/0018). Each method acts
 * on the server in `context` (its `signal` cancels) and throws an Error whose
 * message says what went wrong, shown to the operator. Absent methods: the
 * kind cannot do that, and the gateway says so before anything starts.
 */
export interface KindLifecycle {
  pull?(context: AdapterContext, model: string, progress: (update: PullProgress) => void): Promise<void>;
  remove?(context: AdapterContext, model: string): Promise<void>;
  copy?(context: AdapterContext, source: string, destination: string): Promise<void>;
  /** `keepAlive`: how long the server keeps it loaded; `loraPath`: where a LoRA adapter lives (vLLM). */
  load?(context: AdapterContext, model: string, options: { keepAlive?: string | number; loraPath?: string }): Promise<void>;
  unload?(context: AdapterContext, model: string): Promise<void>;
  /** What `load`/`unload` act on, for messages ("LoRA adapters"); absent: models. */
  readonly loadsWhat?: string;
  /**
   * Whether this one server manages its models, judged by what it lists (a
   * llama.cpp router does, a single-model llama-server does not); absent:
   * every server of the kind does.
   */
  manages?(models: readonly Pick<ServerModel, 'details'>[]): boolean;
  /** Why a server that `manages` nothing cannot, and what would change that; shown when an action names it. */
  readonly unmanaged?: string;
}

/** The probing half of a kind, which kinds built on the same API share. */
export type KindProbe = Pick<ServerKindModule, 'probe' | 'probeEmbeddingDimension'>;
