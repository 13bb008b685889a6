/**
 * The GraphQL schema at /graphql. Object types mirror the REST records they
 * are read from, field for field in camelCase (`health_status` is
 * `healthStatus`): graphql-api.test.ts fails when a REST record gains a field
 * this schema does not have. Secrets have no field at all: no key hash, no
 * upstream API key (a server says only `hasApiKey`), a key's plaintext only in
 * `createKey`'s answer, once.
 */
export const graphqlSchema = /* GraphQL */ `
"Any JSON value: settings, metadata and reports whose shape the REST API documents."
scalar JSON

type Query {
  "Every model server (read)."
  servers: [Server!]!
  "One model server, null when unknown (read)."
  server(id: ID!): Server
  "Every model the key may use, with its status (read or inference)."
  models: [Model!]!
  "One model's status, null when unknown (read or inference)."
  model(name: String!): Model
  "Routes: model aliases over deployments (read)."
  routes: [Route!]!
  "Switchyard keys, never their secrets (read)."
  keys: [Key!]!
  "Usage grouped by model, server, key, hour or api (read). Times are ISO 8601; the last 24 hours by default."
  usage(from: String, to: String, groupBy: String): UsageReport!
  "Per-model performance over the last hours (read)."
  performance(hours: Int): PerformanceReport!
  "Vector collections the key may see (read)."
  collections: [Collection!]!
  "Fleet operations, newest first (read)."
  operations(status: String, kind: String, limit: Int): [Operation!]!
  "One operation, null when unknown (read)."
  operation(id: ID!): Operation
  "Liveness and readiness (no key needed)."
  health: Health!
}

type Mutation {
  "Registers a model server; its kind is detected when serverType is omitted (admin)."
  addServer(input: ServerInput!): Server!
  "Changes only the fields given (admin)."
  updateServer(id: ID!, input: ServerUpdate!): Server!
  "Removes a model server (admin)."
  removeServer(id: ID!): Boolean!
  "Tests a server's connection now (admin)."
  testServer(id: ID!): JSON!
  "Checks every server's health now (admin)."
  checkAllServers: JSON!
  "Creates a key; its plaintext is in this answer only (admin)."
  createKey(input: KeyInput!): CreatedKey!
  "Revokes a key (admin)."
  revokeKey(id: ID!): Boolean!
  "One prompt to one model (inference)."
  generateText(model: String!, prompt: String!, maxTokens: Int, system: String, temperature: Float): Generation!
  "A chat completion (inference)."
  chat(model: String!, messages: [MessageInput!]!, maxTokens: Int, temperature: Float): ChatAnswer!
  "Embeddings of texts (inference)."
  embed(model: String!, texts: [String!]!): Embeddings!
  "Stores texts (embedded by the model) or items in the model's vector collection (vectors:write or admin)."
  storeVector(model: String!, texts: [String!], items: [VectorItemInput!]): StoredVectors!
  "Nearest stored vectors to a text or a vector (inference)."
  searchVectors(model: String!, query: String, vector: [Float!], topK: Int, filter: JSON): [VectorHit!]!
  "Pulls a model onto servers (names, or all when omitted); follow it with operationProgress (admin)."
  pullModel(model: String!, servers: [String!]): Operation!
}

type Subscription {
  "A model becomes available or unavailable, is loaded, or gains or loses a server (read or inference)."
  modelStatusUpdates: ModelStatusUpdate!
  "A server's health changes (read)."
  serverHealth: ServerHealth!
  "Live figures every intervalMs (250 to 60000; default 2000) (read)."
  metrics(intervalMs: Int): LiveMetrics!
  "An operation's progress until it ends (read)."
  operationProgress(id: ID!): Operation!
  "A chat completion as token deltas; the last one has done: true (inference)."
  chatStream(model: String!, messages: [MessageInput!]!, maxTokens: Int, temperature: Float): ChatDelta!
}

type Server {
  id: ID!
  name: String!
  serverType: String!
  kindConfig: JSON
  baseUrl: String!
  isActive: Boolean!
  healthStatus: String!
  statusReason: String
  statusMessage: String
  consecutiveFailures: Int!
  capabilities: [String!]!
  metadata: JSON
  expectedModels: JSON
  detection: JSON
  healthCheckIntervalS: Int
  "Requests the server generates at once, as stated; null: learned from the server."
  maxConcurrency: Int
  managedBy: String
  hasApiKey: Boolean!
  modelsCount: Int!
  lastHealthCheck: String
  lastLatencyMs: Float
  load: ServerLoad
  createdAt: String!
  updatedAt: String!
}

type ServerLoad {
  runningRequests: Float
  waitingRequests: Float
  kvCacheUsage: Float
  loadedModels: JSON
  memoryBytes: Float
  "Share (0..1) of looked-up prompt tokens found in the prefix cache over the latest probe interval (vLLM); null when the server reports none."
  prefixCacheHitRatio: Float
}

input ServerInput {
  name: String!
  baseUrl: String!
  serverType: String
  kindConfig: JSON
  apiKey: String
  isActive: Boolean
  metadata: JSON
  healthCheckIntervalS: Int
  "Requests the server generates at once, as stated; null: learned from the server."
  maxConcurrency: Int
  expectedModels: JSON
}

input ServerUpdate {
  name: String
  baseUrl: String
  serverType: String
  kindConfig: JSON
  apiKey: String
  isActive: Boolean
  metadata: JSON
  healthCheckIntervalS: Int
  "Requests the server generates at once, as stated; null: learned from the server."
  maxConcurrency: Int
  expectedModels: JSON
}

type Model {
  "The model's name (as /v1 knows it)."
  id: ID!
  name: String!
  "The kinds of server that run it (vllm, ollama, …), comma-separated."
  provider: String
  status: String!
  capabilities: [String!]!
  servers: [String!]!
  "Embedding dimension, for embedding models."
  dimension: Int
  contextLength: Int
  loaded: Boolean!
  recentLatencyMs: Float
  deployments: [ModelDeployment!]!
  lastHour: Window!
}

type ModelDeployment {
  server: String!
  serverId: ID!
  healthStatus: String!
  statusReason: String
  modelStatus: String
  routable: Boolean!
  circuit: String!
  inFlight: Int!
  "Requests it can run at once: the server's max_concurrency, else what the server reports, else what the gateway learned (vLLM); null when unknown."
  capacity: Int
  "Where capacity comes from: stated (max_concurrency), reported (by the server) or learned (seen running while the server queued); null when unknown."
  capacitySource: String
  ttfbEwmaMs: Float
  tokensPerSecond: Float
  lastHour: Window!
}

type Window {
  requests: Int!
  errorRate: Float
  p50LatencyMs: Float
  p95LatencyMs: Float
}

type Route {
  id: ID!
  name: String!
  strategy: String
  targets: [RouteTarget!]!
  fallbacks: JSON
  metadata: JSON
  managedBy: String
  status: String!
  unresolvedTargets: JSON
  createdAt: String!
  updatedAt: String!
}

type RouteTarget {
  model: String!
  weight: Float
  tier: Int
}

type Key {
  id: ID!
  name: String!
  "The first characters of the key, to recognise it; never the key."
  prefix: String!
  scopes: [String!]!
  models: [String!]
  rpm: Int
  tpm: Int
  budgetTokens: Float
  usedTokens: Float!
  budgetCost: Float
  usedCost: Float!
  "Its class in the admission queues: interactive, standard or batch."
  priority: String!
  status: String!
  expiresAt: String
  revokedAt: String
  lastUsedAt: String
  metadata: JSON
  createdAt: String!
}

input KeyInput {
  name: String!
  scopes: [String!]!
  models: [String!]
  rpm: Int
  tpm: Int
  budgetTokens: Float
  budgetCost: Float
  "interactive, standard (default) or batch."
  priority: String
  expiresAt: String
  metadata: JSON
}

type CreatedKey {
  "The plaintext key: shown here once, never again."
  key: String!
  apiKey: Key!
}

type UsageReport {
  from: String!
  to: String!
  groupBy: String!
  "Where the figures come from: records (exact), or rollups at volume (counts exact, percentiles from latency buckets)."
  source: String!
  truncated: Boolean!
  total: UsageFigures!
  data: [UsageFigures!]!
}

type UsageFigures {
  "The group's value (a model, server, key, hour or api); null for the total."
  group: String
  requests: Int!
  successes: Int!
  successRate: Float
  p50LatencyMs: Float
  p95LatencyMs: Float
  p50TtftMs: Float
  promptTokens: Float!
  completionTokens: Float!
  tokensPerSecond: Float
  cacheHits: Int!
  cacheHitRatio: Float
  cost: Float
  "Requests that waited in the admission queue for capacity, and the p95 of those waits."
  queued: Int!
  p95QueueWaitMs: Float
  errors: JSON
}

type PerformanceReport {
  windowHours: Float!
  data: [ModelPerformance!]!
}

type ModelPerformance {
  model: String!
  rating: String!
  statistics: UsageFigures!
  servers: [ServerPerformance!]!
  suggestions: JSON
  violation: JSON
}

type ServerPerformance {
  server: String!
  statistics: UsageFigures!
}

type Collection {
  name: String!
  model: String!
  vectorSize: Int!
  distance: String!
  backend: String!
  count: Int
  status: String!
  modelDigest: String
  staleDigest: String
  reembed: JSON
  managedBy: String
  createdAt: String!
  updatedAt: String!
}

type Operation {
  id: ID!
  kind: String!
  status: String!
  model: String!
  params: JSON
  actorKeyId: String
  createdAt: String!
  updatedAt: String!
  finishedAt: String
  error: String
  servers: [OperationTarget!]!
}

type OperationTarget {
  serverId: ID
  name: String!
  status: String!
  completed: Float
  total: Float
  digest: String
  message: String
  error: String
}

type Health {
  "ok while the process serves."
  status: String!
  "False while draining or while storage is unreachable."
  ready: Boolean!
  checks: JSON
}

type TokenUsage {
  promptTokens: Int!
  completionTokens: Int!
  totalTokens: Int!
}

type Generation {
  "The request id (x-request-id), as in the usage records."
  id: ID!
  text: String!
  "Total tokens, prompt and completion."
  tokens: Int!
  "From the model's price when one is set, else null."
  cost: Float
  model: String
  server: String
  usage: TokenUsage!
  latencyMs: Float!
  finishReason: String
}

input MessageInput {
  role: String!
  content: String!
}

type Message {
  role: String!
  content: String!
}

type ChatAnswer {
  id: ID!
  model: String
  server: String
  message: Message!
  finishReason: String
  usage: TokenUsage
}

type Embeddings {
  model: String
  dimension: Int!
  vectors: [[Float!]!]!
  usage: TokenUsage
}

input VectorItemInput {
  id: String
  text: String
  vector: [Float!]
  metadata: JSON
}

type StoredVectors {
  ids: [String!]!
  dimension: Int!
  collection: String!
}

type VectorHit {
  id: String!
  score: Float!
  text: String
  metadata: JSON
}

type ModelStatusUpdate {
  "The model's name."
  id: ID!
  "available, unavailable or removed."
  status: String!
  loaded: Boolean!
  servers: [String!]!
}

type ServerHealth {
  id: ID!
  name: String!
  "online, degraded, offline, … or removed."
  status: String!
  reason: String
}

type LiveMetrics {
  at: String!
  intervalMs: Int!
  windowS: Int!
  requestsPerS: Float!
  errorsPerS: Float!
  errorRatio: Float!
  inFlight: Int!
  ttftP50Ms: Float
  latencyP50Ms: Float
  tokensPerS: Float!
}

type ChatDelta {
  id: ID!
  content: String!
  done: Boolean!
  finishReason: String
  usage: TokenUsage
  model: String
  server: String
}
`;
