import { Type, type Static } from 'typebox';

/**
 * The one schema for Switchyard's settings: types, defaults and validation.
 * Values come from defaults, then the `gateway:` section of the fleet file,
 * then environment variables (see env-variables.ts).
 */
export const HealthSettingsSchema = Type.Object(
  {
    interval_s: Type.Integer({ minimum: 1, maximum: 86_400, default: 30 }),
    timeout_ms: Type.Integer({ minimum: 100, maximum: 120_000, default: 5_000 }),
    failures_to_offline: Type.Integer({ minimum: 1, maximum: 100, default: 3 }),
    concurrency: Type.Integer({ minimum: 1, maximum: 1_000, default: 16 }),
    history_retention_hours: Type.Number({ minimum: 0.01, maximum: 8_760, default: 48 }),
  },
  { additionalProperties: false, default: {} },
);

/**
 * The data plane: timeouts, retries and breakers for calls to model servers.
 * Timeouts are chosen for a gateway (README "Timeouts"): a server that hangs
 * costs one timeout, then the request moves on to another deployment.
 */
export const UpstreamSettingsSchema = Type.Object(
  {
    connect_timeout_ms: Type.Integer({ minimum: 50, maximum: 60_000, default: 5_000 }),
    /** Streams: until the server's response headers (vLLM sends them at once; Ollama after loading the model). */
    first_byte_timeout_ms: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000 }),
    /** Non-streamed requests: a server sends nothing until the whole answer is generated. */
    non_stream_timeout_ms: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 120_000 }),
    idle_timeout_ms: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000 }),
    /** Over all attempts, until the answer starts; a stream that has started is bounded by max_stream_duration_ms. */
    request_deadline_ms: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 300_000 }),
    max_stream_duration_ms: Type.Integer({ minimum: 1_000, maximum: 86_400_000, default: 1_800_000 }),
    max_attempts: Type.Integer({ minimum: 1, maximum: 10, default: 3 }),
    retry_base_delay_ms: Type.Integer({ minimum: 0, maximum: 60_000, default: 50 }),
    retry_budget_ratio: Type.Number({ minimum: 0, maximum: 10, default: 0.2 }),
    breaker_failure_threshold: Type.Integer({ minimum: 1, maximum: 1_000, default: 5 }),
    breaker_cooldown_ms: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 10_000 }),
    max_response_bytes: Type.Integer({ minimum: 1_024, default: 64 * 1024 * 1024 }),
    /** Largest single SSE event; a server that never ends one cannot make us buffer without bound. */
    max_event_bytes: Type.Integer({ minimum: 1_024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
  },
  { additionalProperties: false, default: {} },
);

/**
 * Client connections (callers of the gateway). Silent or slow sockets cost a
 * file descriptor each, so every phase has a bound; a streaming answer is not
 * cut by these (they end once the request has been read).
 */
export const ClientSettingsSchema = Type.Object(
  {
    // Time to send the request head. Node checks it on its own interval (see app.ts).
    headers_timeout_ms: Type.Integer({ minimum: 100, maximum: 600_000, default: 15_000 }),
    // Time to send the whole request, head and body (a 10 MiB body needs ~1.5 Mbit/s).
    request_timeout_ms: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000 }),
    // Idle time between requests on a kept-alive socket. Longer than the 60 s idle
    // timeout of common load balancers, so they never reuse a socket we are closing.
    keep_alive_timeout_ms: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 72_000 }),
    // Open sockets in all; kept well below the usual file descriptor limit.
    max_connections: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 8_192 }),
    // Open sockets from one remote address, so one host cannot take all of them.
    // Behind a reverse proxy every caller shares its address: raise it to max_connections.
    max_connections_per_address: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 512 }),
  },
  { additionalProperties: false, default: {} },
);

/** The WebSocket endpoints (/ws/chat, /ws/models, /ws/metrics): bounds per key and per socket. */
export const WebsocketSettingsSchema = Type.Object(
  {
    // Open sockets per key: a client that leaks sockets cannot take the gateway's.
    max_sockets_per_key: Type.Integer({ minimum: 1, maximum: 100_000, default: 16 }),
    // A ping this often; a socket that has not answered the previous one is dropped.
    ping_interval_ms: Type.Integer({ minimum: 50, maximum: 600_000, default: 30_000 }),
    // Time for a socket without a header key or session cookie to send {type: "auth", key}.
    auth_timeout_ms: Type.Integer({ minimum: 50, maximum: 60_000, default: 5_000 }),
    // Bytes queued for a socket that does not read: past this it is closed, never buffered without end.
    max_buffered_bytes: Type.Integer({ minimum: 1_024, maximum: 1_073_741_824, default: 4 * 1024 * 1024 }),
    // Conversations one /ws/chat socket may run at once.
    max_conversations: Type.Integer({ minimum: 1, maximum: 1_000, default: 8 }),
  },
  { additionalProperties: false, default: {} },
);

/** Per-model queueing once every deployment of a model is at capacity. */
export const QueueSettingsSchema = Type.Object(
  {
    // Requests that may wait per model (not counting those running); one more is shed with 429.
    max_length: Type.Integer({ minimum: 0, maximum: 100_000, default: 100 }),
    // How long a request may wait for capacity before it is shed with 429.
    max_wait_ms: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 30_000 }),
    // Turns per priority class while several wait: class=weight, comma-separated.
    weights: Type.String({ pattern: '^\\s*(interactive|standard|batch)\\s*=\\s*[0-9]+(\\.[0-9]+)?\\s*(,\\s*(interactive|standard|batch)\\s*=\\s*[0-9]+(\\.[0-9]+)?\\s*)*$', default: 'interactive=8,standard=4,batch=1' }),
  },
  { additionalProperties: false, default: {} },
);

/** Rate limits and budgets per key. */
export const QuotaSettingsSchema = Type.Object(
  {
    // Completion tokens reserved for a request that sets no max_tokens (capped by the model's context).
    default_completion_tokens: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 1_024 }),
    // With Redis unreachable, keys with limits are served unchecked (open) or refused with 503 (closed).
    on_backend_error: Type.Enum(['open', 'closed'] as const, { default: 'open' }),
  },
  { additionalProperties: false, default: {} },
);

/** Where vector collections live (src/vectors): sqlite-vec in the data dir, PostgreSQL with pgvector, or Qdrant. */
export const VectorSettingsSchema = Type.Object(
  {
    backend: Type.Enum(['embedded', 'pgvector', 'qdrant'] as const, { default: 'embedded' }),
    /** pgvector: its own database; database_url when unset. */
    database_url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
    qdrant_url: Type.Optional(Type.String({ pattern: '^https?://' })),
    qdrant_api_key: Type.Optional(Type.String({ minLength: 1 })),
    /** Items (texts or vectors) per vector store or delete request; more is a 413 naming the limit. */
    max_items: Type.Integer({ minimum: 1, maximum: 100_000, default: 2_048 }),
  },
  { additionalProperties: false, default: {} },
);

/** The embedding pipeline (decision 0014): its cache, batch splitting and hedging. */
export const EmbeddingSettingsSchema = Type.Object(
  {
    // Embeddings are deterministic: cached per (served model, dimension, text) unless turned off.
    cache: Type.Boolean({ default: true }),
    // The in-memory cache's bound (LRU); with REDIS_URL the cache lives in Redis instead.
    cache_mb: Type.Integer({ minimum: 1, maximum: 1_048_576, default: 256 }),
    // 0: entries never expire (the memory bound or Redis's eviction policy still applies).
    cache_ttl_s: Type.Integer({ minimum: 0, maximum: 31_536_000, default: 604_800 }),
    // Inputs in one request; more is refused with 413 (SY_BATCH_TOO_LARGE).
    max_inputs: Type.Integer({ minimum: 1, maximum: 100_000, default: 16_384 }),
    // Inputs per upstream request when the server says nothing (TEI's /info does) and has no max_batch_size in its metadata.
    batch_size: Type.Integer({ minimum: 1, maximum: 100_000, default: 512 }),
    // Sub-batches of one request in flight at once.
    concurrency: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
  },
  { additionalProperties: false, default: {} },
);

/** Hedged requests for calls that are safe to repeat (embeddings, rerank). */
export const HedgingSettingsSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    // A deployment is hedged after its recent p95 latency, never sooner than this.
    floor_ms: Type.Integer({ minimum: 1, maximum: 600_000, default: 50 }),
    // Answers a deployment must have given before its p95 is trusted enough to hedge on.
    min_samples: Type.Integer({ minimum: 1, maximum: 1_000, default: 10 }),
  },
  { additionalProperties: false, default: {} },
);

export const routingStrategies = ['least-inflight', 'latency', 'weighted', 'priority', 'round-robin', 'prefix-affinity'] as const;

/** Prefix-affinity routing: how prompts are cut into blocks and how much load one deployment may take. */
export const PrefixAffinitySettingsSchema = Type.Object(
  {
    // Characters per block (vLLM's 16-token block is about 64 characters).
    block_chars: Type.Integer({ minimum: 16, maximum: 65_536, default: 64 }),
    // Blocks of one prompt hashed at most (the first 256 KiB at 64 characters).
    max_blocks: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 4_096 }),
    // No deployment takes more than this factor above its model's mean load (consistent hashing with bounded loads).
    load_factor: Type.Number({ minimum: 1, maximum: 100, default: 1.5 }),
    // Block hashes remembered with where they were sent, oldest forgotten first (about 100 bytes each).
    table_entries: Type.Integer({ minimum: 1_000, maximum: 10_000_000, default: 200_000 }),
  },
  { additionalProperties: false, default: {} },
);

export const ConfigSchema = Type.Object(
  {
    port: Type.Integer({ minimum: 0, maximum: 65_535, default: 8000 }),
    host: Type.String({ minLength: 1, default: '0.0.0.0' }),
    /** gRPC is served on `port` beside HTTP; set, also on this port of `host` (plain gRPC, nothing else). */
    grpc_port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_535 })),
    /** gRPC (HTTP/2) recognised on the HTTP port by its connection preface; false leaves that port HTTP/1.1 only. */
    grpc_shared_port: Type.Boolean({ default: true }),
    data_dir: Type.String({ minLength: 1, default: './data' }),
    database_url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
    redis_url: Type.Optional(Type.String({ pattern: '^rediss?(\\+(sentinel|cluster))?://' })),
    config_file: Type.Optional(Type.String({ minLength: 1 })),
    discover_local_ollama: Type.Boolean({ default: true }),
    local_ollama_url: Type.String({ pattern: '^https?://', default: 'http://localhost:11434' }),
    admin_key: Type.Optional(Type.String({ minLength: 16 })),
    secret_key: Type.Optional(Type.String({ minLength: 16 })),
    log_level: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, { default: 'info' }),
    /** auto: readable lines when stdout is a terminal, JSON otherwise (a file, a pipe, a log collector). */
    log_format: Type.Enum(['auto', 'json', 'pretty'] as const, { default: 'auto' }),
    /** Fastify's own two lines per request (arrival, completion) for every path; off, each /v1 request gets one summary line instead. */
    log_requests: Type.Boolean({ default: false }),
    admin_body_limit_bytes: Type.Integer({ minimum: 1024, default: 1_048_576 }),
    inference_body_limit_bytes: Type.Integer({ minimum: 1024, default: 10 * 1_048_576 }),
    /** Unset: prefix-affinity for chat and completions on a model with two or more deployments, least-inflight otherwise (decision 0027). */
    routing_strategy: Type.Optional(Type.Enum(routingStrategies)),
    prefix_affinity: PrefixAffinitySettingsSchema,
    metrics_public: Type.Boolean({ default: false }),
    otel_endpoint: Type.Optional(Type.String({ pattern: '^https?://' })),
    otel_service_name: Type.String({ minLength: 1, default: 'switchyard' }),
    otel_batch_delay_ms: Type.Integer({ minimum: 10, maximum: 60_000, default: 2_000 }),
    usage_flush_ms: Type.Integer({ minimum: 10, maximum: 60_000, default: 250 }),
    usage_retention_days: Type.Number({ minimum: 0.01, maximum: 3_650, default: 30 }),
    /** Hour rollups of usage (minute rollups go with the raw records). */
    rollup_retention_days: Type.Number({ minimum: 1, maximum: 3_650, default: 400 }),
    /** Analytics over windows of more requests than this read the rollups; below it, the raw records (exact quantiles). */
    analytics_raw_rows_max: Type.Integer({ minimum: 0, maximum: 500_000, default: 20_000 }),
    /** How long a stored Responses API response (`store: true`) can be read and continued (`previous_response_id`). */
    responses_ttl_hours: Type.Number({ minimum: 0.01, maximum: 87_600, default: 72 }),
    /** Usage records held while storage is away; past it the oldest are dropped (and counted). */
    usage_queue_max: Type.Integer({ minimum: 100, maximum: 10_000_000, default: 100_000 }),
    /** Where usage batches wait on local disk while the database is unreachable; default `<data_dir>/usage-spool` (decision 0029). */
    usage_spool_dir: Type.Optional(Type.String({ minLength: 1 })),
    /** Disk the usage spool may take; past it batches wait in the in-memory queue (and its bound). */
    usage_spool_max_mb: Type.Integer({ minimum: 1, maximum: 1_048_576, default: 1_024 }),
    /** The currency prices and costs are in (ISO 4217, e.g. USD, EUR): a label, nothing is converted. */
    currency: Type.String({ pattern: '^[A-Z]{3}$', default: 'USD' }),
    /** Servers one operation (a pull, a delete…) acts on at once; the rest wait their turn. */
    operation_concurrency: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
    /** The Hugging Face Hub the hub API searches and downloads from (a mirror or a private Hub works too). */
    hf_endpoint: Type.String({ pattern: '^https?://', default: 'https://huggingface.co' }),
    /** A Hugging Face access token for private and gated repositories; sent only to hf_endpoint, never logged. */
    hf_token: Type.Optional(Type.String({ minLength: 1 })),
    /** Where Hub downloads are kept; default `<data_dir>/hf-cache`. */
    hf_cache: Type.Optional(Type.String({ minLength: 1 })),
    /** Memory the response cache may hold when it is not in Redis (LRU beyond it). */
    response_cache_mb: Type.Integer({ minimum: 1, maximum: 1_048_576, default: 64 }),
    /** On SIGTERM: how long in-flight requests and streams may take to finish before they are cut (deploy files give the process more). */
    shutdown_grace_ms: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 30_000 }),
    /** On SIGTERM: how long to keep serving (with /ready at 503) before refusing connections, for load balancers to notice. */
    shutdown_delay_ms: Type.Integer({ minimum: 0, maximum: 600_000, default: 0 }),
    webhook_retry_base_ms: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 1_000 }),
    webhook_timeout_ms: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000 }),
    webhook_max_attempts: Type.Integer({ minimum: 1, maximum: 20, default: 6 }),
    allow_nets: Type.Optional(Type.String()),
    deny_nets: Type.Optional(Type.String()),
    health: HealthSettingsSchema,
    upstream: UpstreamSettingsSchema,
    client: ClientSettingsSchema,
    websocket: WebsocketSettingsSchema,
    queue: QueueSettingsSchema,
    quota: QuotaSettingsSchema,
    vectors: VectorSettingsSchema,
    embeddings: EmbeddingSettingsSchema,
    hedging: HedgingSettingsSchema,
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type HealthSettings = Static<typeof HealthSettingsSchema>;
export type UpstreamSettings = Static<typeof UpstreamSettingsSchema>;
export type ClientSettings = Static<typeof ClientSettingsSchema>;
export type WebsocketSettings = Static<typeof WebsocketSettingsSchema>;
export type QuotaSettings = Static<typeof QuotaSettingsSchema>;
export type VectorSettings = Static<typeof VectorSettingsSchema>;
export type EmbeddingSettings = Static<typeof EmbeddingSettingsSchema>;
export type HedgingSettings = Static<typeof HedgingSettingsSchema>;
export type RoutingStrategy = (typeof routingStrategies)[number];
