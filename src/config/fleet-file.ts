import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { parse as parseYaml } from 'yaml';
import { KindConfigSchema, ModelCapabilitySchema, ServerKindOrAutoSchema } from './server-kind-schema.ts';
import { findServerKind, serverKindIds } from '../data/adapters/server-kinds.ts';
import { routingStrategies } from './config-schema.ts';
import { cacheModes, cacheScopes } from '../domain/cache-policy.ts';

/** The longest ttl_s a response cache policy may have (30 days). */
export const maxTtlS = 30 * 86_400;

/** One model a fleet file says a server should serve; the hints save a probe. */
export const FleetModelSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    capabilities: Type.Optional(Type.Array(ModelCapabilitySchema)),
    embedding_dimension: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_536 })),
    context_length: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export const FleetServerSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    server_type: Type.Optional(ServerKindOrAutoSchema),
    /** The kind's own settings (the `custom` kind's paths and fields). */
    kind_config: Type.Optional(KindConfigSchema),
    base_url: Type.String({ minLength: 1 }),
    // May interpolate to '' (an unset optional key): that means no key.
    api_key: Type.Optional(Type.String()),
    is_active: Type.Optional(Type.Boolean()),
    health_check_interval_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    // Requests the server generates at once; omitted: learned from the server.
    max_concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    models: Type.Optional(Type.Array(Type.Union([Type.String({ minLength: 1 }), FleetModelSchema]))),
  },
  { additionalProperties: false },
);

export const FleetRouteSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    strategy: Type.Optional(Type.Enum(routingStrategies)),
    targets: Type.Array(
      Type.Union([
        Type.String({ minLength: 1 }),
        Type.Object(
          { model: Type.String({ minLength: 1 }), weight: Type.Optional(Type.Number({ exclusiveMinimum: 0 })), tier: Type.Optional(Type.Integer({ minimum: 1 })) },
          { additionalProperties: false },
        ),
      ]),
      { minItems: 1 },
    ),
    fallbacks: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  },
  { additionalProperties: false },
);

/** `cache_policies: { <model or route>: { mode, ttl_s, scope?, similarity?, embedding_model? } }` */
export const FleetCachePolicySchema = Type.Object(
  {
    mode: Type.Enum(cacheModes),
    ttl_s: Type.Integer({ minimum: 1, maximum: maxTtlS }),
    scope: Type.Optional(Type.Enum(cacheScopes)),
    similarity: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    embedding_model: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

/** `placements: { <model>: { pulled_on | servers, warm_on?, keep_alive?, active_hours? } }` (checked fully when applied). */
export const FleetPlacementSchema = Type.Object(
  {
    pulled_on: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    servers: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1 })),
    warm_on: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    keep_alive: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 40 }), Type.Number()])),
    active_hours: Type.Optional(Type.String({ maxLength: 20 })),
  },
  { additionalProperties: false },
);

/** `thresholds: { <model>: { p95_latency_ms?, p95_ttft_ms?, min_tokens_per_s?, max_error_rate? } }` */
export const FleetThresholdsSchema = Type.Object(
  {
    p95_latency_ms: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    p95_ttft_ms: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    min_tokens_per_s: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    max_error_rate: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
);

/** `prices: { <model>: { input_per_million?, output_per_million?, per_hour? } }` in the gateway's currency. */
export const FleetPriceSchema = Type.Object(
  {
    input_per_million: Type.Optional(Type.Number({ minimum: 0 })),
    output_per_million: Type.Optional(Type.Number({ minimum: 0 })),
    per_hour: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);

/** A vector collection mapped to a model, keyed by the collection's name: `mixtral: { model: mixtral, vector_size: 4096, distance: cosine }`. */
export const FleetCollectionSchema = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 256 }),
    vector_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_536 })),
    distance: Type.Optional(Type.Union([Type.Literal('cosine'), Type.Literal('dot'), Type.Literal('euclid')])),
  },
  { additionalProperties: false },
);

export const FleetFileSchema = Type.Object(
  {
    gateway: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    servers: Type.Optional(Type.Array(FleetServerSchema)),
    routes: Type.Optional(Type.Array(FleetRouteSchema)),
    cache_policies: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 200 }), FleetCachePolicySchema)),
    collections: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$' }), FleetCollectionSchema)),
    placements: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 256 }), FleetPlacementSchema)),
    thresholds: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 256 }), FleetThresholdsSchema)),
    prices: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 256 }), FleetPriceSchema)),
  },
  { additionalProperties: false },
);

export type FleetPlacement = Static<typeof FleetPlacementSchema>;
export type FleetModel = Static<typeof FleetModelSchema>;
export type FleetServer = Static<typeof FleetServerSchema>;
export type FleetRoute = Static<typeof FleetRouteSchema>;
export type FleetCachePolicy = Static<typeof FleetCachePolicySchema>;
export type FleetCollection = Static<typeof FleetCollectionSchema>;
export interface FleetFile {
  gateway: Record<string, unknown>;
  servers: FleetServer[];
  routes: FleetRoute[];
  /** Response cache policies by model or route name. */
  cachePolicies: Record<string, FleetCachePolicy>;
  collections: Record<string, FleetCollection>;
  /** Placements by model: `mixtral: { pulled_on: 2, warm_on: 1, keep_alive: 30m }`. */
  placements: Record<string, FleetPlacement>;
  /** Thresholds by model, checked every minute against live figures. */
  thresholds: Record<string, Static<typeof FleetThresholdsSchema>>;
  prices: Record<string, Static<typeof FleetPriceSchema>>;
}

/** Parses and validates a fleet file; `${VAR}` and `${VAR:-default}` are read from the environment. */
export function parseFleetFile(text: string, fileName: string, env: Record<string, string | undefined>): FleetFile {
  let document: unknown;
  try {
    document = parseYaml(text) ?? {};
  } catch (error) {
    throw new FleetFileError(`${fileName}: not valid YAML (${(error as Error).message.split('\n')[0]})`);
  }
  const interpolated = interpolate(document, fileName, env);
  const firstError = [...Value.Errors(FleetFileSchema, interpolated)][0];
  if (firstError !== undefined) {
    const where = firstError.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(top level)';
    const problem = firstError.message === 'schema is false' ? 'unknown key' : firstError.message;
    throw new FleetFileError(`${fileName}: ${where}: ${problem}`);
  }
  const parsed = interpolated as Static<typeof FleetFileSchema>;
  const servers = parsed.servers ?? [];
  const seen = new Set<string>();
  for (const [position, server] of servers.entries()) {
    if (seen.has(server.name)) throw new FleetFileError(`${fileName}: server name "${server.name}" appears twice`);
    seen.add(server.name);
    checkServerKind(server, `${fileName}: servers.${position}`);
  }
  const cachePolicies = parsed.cache_policies ?? {};
  for (const [name, policy] of Object.entries(cachePolicies)) checkCachePolicy(name, policy, `${fileName}: cache_policies.${name}`);
  return { gateway: parsed.gateway ?? {}, servers, routes: parsed.routes ?? [], cachePolicies, collections: parsed.collections ?? {}, placements: parsed.placements ?? {}, thresholds: parsed.thresholds ?? {}, prices: parsed.prices ?? {} };
}

export class FleetFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The kind must be registered and its settings valid: start-up fails here, naming the key, not later. */
function checkServerKind(server: FleetServer, where: string): void {
  const kindId = server.server_type ?? 'auto';
  if (kindId === 'auto') {
    if (server.kind_config !== undefined && server.kind_config !== null) throw new FleetFileError(`${where}.kind_config: needs an explicit server_type`);
    return;
  }
  const kind = findServerKind(kindId);
  if (kind === undefined) throw new FleetFileError(`${where}.server_type: must be one of auto, ${serverKindIds().join(', ')}`);
  if (kind.config === undefined) {
    if (server.kind_config !== undefined && server.kind_config !== null) throw new FleetFileError(`${where}.kind_config: server_type ${kindId} takes no kind_config`);
    return;
  }
  const checked = kind.config.check(server.kind_config ?? null);
  if (!checked.ok) throw new FleetFileError(`${where}.kind_config${checked.field === '' ? '' : `.${checked.field}`}: ${checked.message}`);
}

/** What the schema cannot say: semantic needs an embedding model; exact takes no semantic settings. */
function checkCachePolicy(name: string, policy: FleetCachePolicy, where: string): void {
  if (policy.mode === 'semantic' && policy.embedding_model === undefined) throw new FleetFileError(`${where}.embedding_model: mode semantic needs a fleet model that can embed`);
  if (policy.mode === 'exact' && policy.similarity !== undefined) throw new FleetFileError(`${where}.similarity: applies to mode semantic only`);
  if (policy.mode === 'exact' && policy.embedding_model !== undefined) throw new FleetFileError(`${where}.embedding_model: applies to mode semantic only`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$/.test(name)) throw new FleetFileError(`${where}: the name must be a model or route name`);
}

/** Normalises a fleet model entry (a bare name or an object) to an object. */
export function toFleetModel(entry: string | FleetModel): FleetModel {
  return typeof entry === 'string' ? { name: entry } : entry;
}

function interpolate(value: unknown, fileName: string, env: Record<string, string | undefined>): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_match, name: string, fallback?: string) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new FleetFileError(`${fileName}: environment variable ${name} is not set`);
    });
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, fileName, env));
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) result[key] = interpolate(child, fileName, env);
    return result;
  }
  return value;
}
