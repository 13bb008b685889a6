import { Type } from 'typebox';
import { errors } from '../../errors/error-catalogue.ts';
import { healthStatuses } from '../../domain/server-kind.ts';
import { KindConfigSchema, ModelCapabilitySchema, ServerKindOrAutoSchema, ServerKindSchema } from '../../config/server-kind-schema.ts';


export const ExpectedModelSchema = Type.Union([
  Type.String({ minLength: 1, maxLength: 200 }),
  Type.Object(
    {
      name: Type.String({ minLength: 1, maxLength: 200 }),
      capabilities: Type.Optional(Type.Array(ModelCapabilitySchema, { maxItems: 7 })),
      embedding_dimension: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_536 })),
      context_length: Type.Optional(Type.Integer({ minimum: 1 })),
    },
    { additionalProperties: false },
  ),
]);

const settingsFields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  server_type: ServerKindOrAutoSchema,
  kind_config: KindConfigSchema,
  base_url: Type.String({ minLength: 1, maxLength: 2048 }),
  api_key: Type.Union([Type.String({ minLength: 1, maxLength: 4096 }), Type.Null()]),
  is_active: Type.Boolean(),
  metadata: Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), { maxProperties: 100 }),
  health_check_interval_s: Type.Integer({ minimum: 1, maximum: 86_400 }),
  max_concurrency: Type.Union([Type.Integer({ minimum: 1, maximum: 100_000 }), Type.Null()], { description: 'Requests the server generates at once; null (default): what the server reports (llama.cpp slots, TEI permits), else what the gateway learns (vLLM). Ollama reports nothing: state its OLLAMA_NUM_PARALLEL here.' }),
  expected_models: Type.Array(ExpectedModelSchema, { maxItems: 1000 }),
};

export const CreateServerBody = Type.Object(
  {
    name: settingsFields.name,
    base_url: settingsFields.base_url,
    server_type: Type.Optional(settingsFields.server_type),
    kind_config: Type.Optional(settingsFields.kind_config),
    api_key: Type.Optional(settingsFields.api_key),
    is_active: Type.Optional(settingsFields.is_active),
    metadata: Type.Optional(settingsFields.metadata),
    health_check_interval_s: Type.Optional(settingsFields.health_check_interval_s),
    max_concurrency: Type.Optional(settingsFields.max_concurrency),
    expected_models: Type.Optional(settingsFields.expected_models),
  },
  { additionalProperties: false },
);

// Every field optional: PUT changes only what it is given.
export const UpdateServerBody = Type.Partial(CreateServerBody, { additionalProperties: false });

export const ServerIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
// Query values arrive as strings and the validator does not coerce (see app.ts).
export const HistoryQuery = Type.Object({ limit: Type.Optional(Type.String({ maxLength: 10 })) }, { additionalProperties: false });

export function limitOf(query: { limit?: string | undefined }, fallback: number): number {
  if (query.limit === undefined) return fallback;
  const limit = Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw errors.invalidRequest('limit must be an integer from 1 to 1000.', 'limit');
  return limit;
}

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** The public record. Serialised through this schema, so nothing else (an api_key) can leak out. */
export const ServerRecordSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  server_type: ServerKindSchema,
  kind_config: nullable(Type.Record(Type.String(), Type.Unknown())),
  base_url: Type.String(),
  is_active: Type.Boolean(),
  health_status: Type.Enum(healthStatuses),
  status_reason: nullable(Type.String()),
  status_message: nullable(Type.String()),
  consecutive_failures: Type.Integer(),
  capabilities: Type.Array(Type.String()),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  expected_models: Type.Array(Type.Unknown()),
  detection: nullable(Type.Record(Type.String(), Type.Unknown())),
  health_check_interval_s: Type.Integer(),
  max_concurrency: nullable(Type.Integer()),
  managed_by: Type.Union([Type.Literal('fleet_file'), Type.Null()]),
  has_api_key: Type.Boolean(),
  models_count: Type.Integer(),
  last_health_check: nullable(Type.String()),
  last_latency_ms: nullable(Type.Number()),
  load: nullable(
    Type.Object({
      running_requests: nullable(Type.Number()),
      waiting_requests: nullable(Type.Number()),
      kv_cache_usage: nullable(Type.Number()),
      loaded_models: Type.Array(Type.String()),
      memory_bytes: nullable(Type.Number()),
      prefix_cache_hit_ratio: nullable(Type.Number({ description: 'Share (0..1) of looked-up prompt tokens found in the prefix cache over the latest probe interval (vLLM); null when the server reports none.' })),
    }),
  ),
  created_at: Type.String(),
  updated_at: Type.String(),
});

export const ServerModelSchema = Type.Object({
  id: Type.String(),
  aliases: Type.Array(Type.String()),
  capabilities: Type.Array(Type.String()),
  can_embed: Type.Boolean(),
  embedding_dimension: nullable(Type.Integer()),
  context_length: nullable(Type.Integer()),
  status: Type.Enum(['loaded', 'available'] as const),
  details: Type.Record(Type.String(), Type.Unknown()),
  first_seen_at: Type.String(),
  last_seen_at: Type.String(),
});

export const CheckReportSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  health_status: Type.Enum(healthStatuses),
  latency_ms: Type.Number(),
  models_found: nullable(Type.Integer()),
  error: Type.Optional(Type.String()),
});

export const TestReportSchema = Type.Object({
  ok: Type.Boolean(),
  latency_ms: Type.Number(),
  models_found: Type.Integer(),
  error: Type.Optional(Type.String()),
});
