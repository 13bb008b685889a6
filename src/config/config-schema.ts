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

export const ConfigSchema = Type.Object(
  {
    port: Type.Integer({ minimum: 0, maximum: 65_535, default: 8000 }),
    host: Type.String({ minLength: 1, default: '0.0.0.0' }),
    data_dir: Type.String({ minLength: 1, default: './data' }),
    database_url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
    redis_url: Type.Optional(Type.String({ pattern: '^rediss?://' })),
    config_file: Type.Optional(Type.String({ minLength: 1 })),
    discover_local_ollama: Type.Boolean({ default: true }),
    local_ollama_url: Type.String({ pattern: '^https?://', default: 'http://localhost:11434' }),
    admin_key: Type.Optional(Type.String({ minLength: 16 })),
    secret_key: Type.Optional(Type.String({ minLength: 16 })),
    log_level: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, { default: 'info' }),
    admin_body_limit_bytes: Type.Integer({ minimum: 1024, default: 1_048_576 }),
    health: HealthSettingsSchema,
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type HealthSettings = Static<typeof HealthSettingsSchema>;

/** Settings that hold secrets: never printed, never logged. */
export const secretSettings = new Set<keyof Config>(['admin_key', 'secret_key', 'database_url', 'redis_url']);
