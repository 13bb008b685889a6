import { parseRedisUrl } from '../storage/redis-connection.ts';
import { readFileSync } from 'node:fs';
import { Value } from 'typebox/value';
import { ConfigSchema, type Config } from './config-schema.ts';
import { environmentVariables } from './env-variables.ts';
import { parseFleetFile, type FleetFile } from './fleet-file.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: Config;
  fleet: FleetFile | null;
}

export interface LoadConfigOptions {
  env?: Record<string, string | undefined>;
  /** `--config` from the command line; wins over SWITCHYARD_CONFIG. */
  configFile?: string;
  /** Explicit overrides (tests, CLI flags); applied last. */
  overrides?: Record<string, unknown>;
}

/** Defaults, then the fleet file's `gateway:` section, then the environment. Fails fast naming the bad key. */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const fromEnv: Record<string, unknown> = {};
  const sourceOfPath = new Map<string, string>();
  for (const { names, path, scale } of environmentVariables) {
    const name = names.find((candidate) => env[candidate] !== undefined && env[candidate] !== '');
    if (name === undefined) continue;
    const value = env[name] as string;
    // Not a number: left as it is, for the schema to name the variable and say what it wants.
    setPath(fromEnv, path, scale === undefined || !Number.isFinite(Number(value)) ? value : Math.round(Number(value) * scale));
    sourceOfPath.set(path.join('.'), name);
  }

  const configFile = options.configFile ?? (fromEnv['config_file'] as string | undefined);
  let fleet: FleetFile | null = null;
  let fromFile: Record<string, unknown> = {};
  if (configFile !== undefined) {
    fleet = parseFleetFile(readConfigFile(configFile), configFile, env);
    fromFile = fleet.gateway;
    for (const key of Object.keys(flatten(fromFile))) sourceOfPath.set(key, `${configFile}: gateway.${key}`);
  }

  const merged = deepMerge(deepMerge(fromFile, fromEnv), options.overrides ?? {});
  if (configFile !== undefined) merged['config_file'] = configFile;
  const converted = Value.Convert(ConfigSchema, merged);
  const withDefaults = Value.Default(ConfigSchema, converted);
  const firstError = [...Value.Errors(ConfigSchema, withDefaults)][0];
  if (firstError !== undefined) {
    const key = firstError.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(root)';
    const source = sourceOfPath.get(key) ?? key;
    throw new ConfigError(`Invalid setting ${source}: ${describeError(firstError.message, firstError.params, key)}`);
  }
  const config = withDefaults as Config;
  // The pattern admits the three forms; the rest of a REDIS_URL (hosts, primary name) is read here, so a bad one stops the start cleanly.
  if (config.redis_url !== undefined) {
    try {
      parseRedisUrl(config.redis_url);
    } catch (error) {
      throw new ConfigError(`Invalid setting ${sourceOfPath.get('redis_url') ?? 'redis_url'}: ${error instanceof Error ? error.message : 'unreadable'}`);
    }
  }
  return { config, fleet };
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`Cannot read config file ${path} (${code}).`);
  }
}

function describeError(message: string, params: unknown, key: string): string {
  // TypeBox reports an unknown key as the key's own path failing a `false` schema.
  if (message === 'schema is false') return `unknown key "${key.split('.').pop() ?? key}"`;
  if (params !== null && typeof params === 'object' && 'allowedValues' in params) {
    return `${message} (${String((params as { allowedValues: unknown }).allowedValues)})`;
  }
  return message;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (next === null || typeof next !== 'object') node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const existing = result[key];
    result[key] = isPlainObject(existing) && isPlainObject(value) ? deepMerge(existing, value) : value;
  }
  return result;
}

function flatten(value: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (isPlainObject(child)) Object.assign(result, flatten(child, path));
    else result[path] = child;
  }
  return result;
}
