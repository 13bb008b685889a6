import { modelCapabilities, type ModelCapability } from '../../../domain/server-kind.ts';
import type { KindConfigCheck, KindConfigField } from '../server-kind-module.ts';
import { isRecord } from '../shared/wire-values.ts';

/** A `custom` server's own REST API, as its record (or the fleet file) describes it. */
export interface CustomConfig {
  health_path: string;
  models: string[];
  models_path: string | null;
  models_field: string;
  generate_path: string;
  method: 'POST' | 'PUT';
  request_template: Record<string, unknown>;
  text_field: string;
  prompt_tokens_field: string | null;
  completion_tokens_field: string | null;
  auth_header: string;
  auth_scheme: string;
  capabilities: ModelCapability[];
}

const templatePlaceholders = ['prompt', 'messages', 'max_tokens', 'temperature', 'model'] as const;

export const customConfigFields: readonly KindConfigField[] = [
  { name: 'generate_path', label: 'Generate path', type: 'text', required: true, placeholder: '/api/v1/models/{model}/generate', help: '{model} is replaced by the model id.' },
  { name: 'method', label: 'Method', type: 'select', required: false, options: ['POST', 'PUT'] },
  { name: 'request_template', label: 'Request body template (JSON)', type: 'json', required: false, placeholder: '{"prompt": "{prompt}", "max_new_tokens": "{max_tokens}"}', help: 'Placeholders: {prompt} {messages} {max_tokens} {temperature} {model}.' },
  { name: 'text_field', label: 'Answer text field', type: 'text', required: true, placeholder: 'output.text' },
  { name: 'prompt_tokens_field', label: 'Prompt tokens field', type: 'text', required: false, placeholder: 'usage.input_tokens' },
  { name: 'completion_tokens_field', label: 'Completion tokens field', type: 'text', required: false, placeholder: 'usage.output_tokens' },
  { name: 'health_path', label: 'Health path', type: 'text', required: false, placeholder: '/health' },
  { name: 'models', label: 'Models (comma-separated)', type: 'list', required: false, placeholder: 'my-model' },
  { name: 'models_path', label: 'Models list path', type: 'text', required: false, placeholder: '/api/v1/models' },
  { name: 'models_field', label: 'Models list field', type: 'text', required: false, placeholder: 'models' },
  { name: 'auth_header', label: 'Auth header', type: 'text', required: false, placeholder: 'authorization' },
  { name: 'auth_scheme', label: 'Auth scheme', type: 'text', required: false, placeholder: 'Bearer', help: 'Empty sends the key alone.' },
];

const knownKeys = new Set([...customConfigFields.map((field) => field.name), 'capabilities']);
const pathPattern = /^\/[A-Za-z0-9._~\-/{}%:@!$&'()*+,;=]*$/;
const fieldPathPattern = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const headerNamePattern = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
// Headers the gateway sets itself on every upstream call.
const reservedHeaders = new Set(['host', 'content-type', 'content-length', 'accept', 'connection', 'transfer-encoding', 'x-request-id', 'traceparent']);

class ConfigProblem extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/** Validates and fills defaults; every problem names its field. */
export function checkCustomConfig(raw: unknown): KindConfigCheck {
  try {
    return { ok: true, value: { ...parseCustomConfig(raw) } };
  } catch (error) {
    if (error instanceof ConfigProblem) return { ok: false, field: error.field, message: error.message };
    throw error;
  }
}

export function parseCustomConfig(raw: unknown): CustomConfig {
  if (!isRecord(raw)) throw new ConfigProblem('', 'kind_config is required for a custom server: an object with at least generate_path and text_field.');
  for (const key of Object.keys(raw)) if (!knownKeys.has(key)) throw new ConfigProblem(key, `kind_config.${key} is not a setting of the custom kind.`);
  const generatePath = path(raw, 'generate_path', null);
  if (generatePath === null) throw new ConfigProblem('generate_path', 'kind_config.generate_path is required, e.g. "/api/v1/models/{model}/generate".');
  const placeholders = [...generatePath.matchAll(/\{([^}]*)\}/g)].map((match) => match[1]);
  if (placeholders.some((name) => name !== 'model')) throw new ConfigProblem('generate_path', 'kind_config.generate_path may use only the {model} placeholder.');
  const method = raw['method'] ?? 'POST';
  if (method !== 'POST' && method !== 'PUT') throw new ConfigProblem('method', 'kind_config.method must be POST or PUT.');
  const template = raw['request_template'] ?? { prompt: '{prompt}' };
  if (!isRecord(template)) throw new ConfigProblem('request_template', 'kind_config.request_template must be a JSON object.');
  checkTemplate(template);
  if (JSON.stringify(template).length > 16_384) throw new ConfigProblem('request_template', 'kind_config.request_template is larger than 16 KiB.');
  const textField = fieldPath(raw, 'text_field');
  if (textField === null) throw new ConfigProblem('text_field', 'kind_config.text_field is required: where the answer text is, e.g. "output.text".');
  const models = raw['models'] ?? [];
  if (!Array.isArray(models) || models.length > 1000 || !models.every((name) => typeof name === 'string' && name.length > 0 && name.length <= 200)) {
    throw new ConfigProblem('models', 'kind_config.models must be a list of model names (at most 1000, each 1-200 characters).');
  }
  const modelsPath = path(raw, 'models_path', null);
  if (models.length === 0 && modelsPath === null) throw new ConfigProblem('models', 'Set kind_config.models (a list of names) or kind_config.models_path (where the server lists them).');
  const authHeader = text(raw, 'auth_header', 'authorization').toLowerCase();
  if (!headerNamePattern.test(authHeader) || reservedHeaders.has(authHeader)) throw new ConfigProblem('auth_header', 'kind_config.auth_header must be a header name the gateway does not set itself.');
  const authScheme = text(raw, 'auth_scheme', 'Bearer');
  if (!/^[\x21-\x7e]{0,40}$/.test(authScheme)) throw new ConfigProblem('auth_scheme', 'kind_config.auth_scheme must be one word of printable ASCII (or empty).');
  const capabilities = raw['capabilities'] ?? ['chat', 'completion'];
  if (!Array.isArray(capabilities) || capabilities.length === 0 || !capabilities.every((capability) => capability === 'chat' || capability === 'completion')) {
    throw new ConfigProblem('capabilities', 'kind_config.capabilities may hold only "chat" and "completion".');
  }
  return {
    health_path: path(raw, 'health_path', '/health') ?? '/health',
    models: [...new Set(models as string[])],
    models_path: modelsPath,
    models_field: raw['models_field'] === '' ? '' : (fieldPath(raw, 'models_field') ?? 'models'),
    generate_path: generatePath,
    method,
    request_template: template,
    text_field: textField,
    prompt_tokens_field: fieldPath(raw, 'prompt_tokens_field'),
    completion_tokens_field: fieldPath(raw, 'completion_tokens_field'),
    auth_header: authHeader,
    auth_scheme: authScheme,
    capabilities: modelCapabilities.filter((capability) => (capabilities as string[]).includes(capability)),
  };
}

function text(raw: Record<string, unknown>, key: string, fallback: string): string {
  const value = raw[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string') throw new ConfigProblem(key, `kind_config.${key} must be a string.`);
  return value.trim();
}

function path(raw: Record<string, unknown>, key: string, fallback: string | null): string | null {
  const value = text(raw, key, '');
  if (value === '') return fallback;
  if (value.length > 500 || !pathPattern.test(value) || value.includes('..') || value.startsWith('//')) {
    throw new ConfigProblem(key, `kind_config.${key} must be a path on the server, starting with "/" (no scheme, host, "..", spaces or query).`);
  }
  return value;
}

function fieldPath(raw: Record<string, unknown>, key: string): string | null {
  const value = text(raw, key, '');
  if (value === '') return null;
  if (value.length > 200 || !fieldPathPattern.test(value)) throw new ConfigProblem(key, `kind_config.${key} must be a dotted field path such as "usage.output_tokens".`);
  return value;
}

function checkTemplate(value: unknown): void {
  if (typeof value === 'string') {
    for (const match of value.matchAll(/\{([a-z_]+)\}/g)) {
      if (!(templatePlaceholders as readonly string[]).includes(match[1] as string)) {
        throw new ConfigProblem('request_template', `kind_config.request_template uses {${match[1]}}; the placeholders are ${templatePlaceholders.map((name) => `{${name}}`).join(' ')}.`);
      }
    }
  } else if (Array.isArray(value)) {
    for (const item of value) checkTemplate(item);
  } else if (isRecord(value)) {
    for (const item of Object.values(value)) checkTemplate(item);
  }
}
