import { capabilitySourceDetail } from '../../../domain/model-server.ts';
import type { DiscoveredModel, ProbeResult } from '../server-adapter.ts';
import { upstreamCall } from '../server-adapter.ts';
import type { ServerKindModule } from '../server-kind-module.ts';
import { kindDefaults } from '../shared/kind-defaults.ts';
import { isRecord, protocolError, stringField } from '../shared/wire-values.ts';
import { assertOk } from '../../upstream/upstream-http.ts';
import { checkCustomConfig, customConfigFields, parseCustomConfig, type CustomConfig } from './custom-config.ts';
import { toOpenAIAnswer, valueAt } from './custom-answer.ts';
import { generatePath, placeholderValues, renderTemplate } from './custom-request.ts';

// Stored configs were validated when written; each is parsed once per process.
const parsed = new WeakMap<Record<string, unknown>, CustomConfig>();

function configOf(kindConfig: Record<string, unknown> | null | undefined): CustomConfig {
  if (kindConfig === null || kindConfig === undefined) return parseCustomConfig(kindConfig);
  let config = parsed.get(kindConfig);
  if (config === undefined) {
    config = parseCustomConfig(kindConfig);
    parsed.set(kindConfig, config);
  }
  return config;
}

function authHeaders(apiKey: string | null, kindConfig: Record<string, unknown> | null): Record<string, string> {
  if (apiKey === null) return {};
  const config = configOf(kindConfig);
  return { [config.auth_header]: config.auth_scheme === '' ? apiKey : `${config.auth_scheme} ${apiKey}` };
}

/**
 * An in-house model server with its own small REST API, described per server
 * in `kind_config`: where its health and models are, how a generate request
 * looks, where the answer's text and token counts are. It never streams: a
 * caller asking for a stream gets the answer as a synthesized SSE stream.
 */
export const customKind: ServerKindModule = {
  id: 'custom',
  label: 'Custom REST API',
  description: 'An in-house model server: paths, request template and answer fields set per server.',
  ...kindDefaults,
  detection: [],
  config: { fields: customConfigFields, check: checkCustomConfig },
  authHeaders: (apiKey, server) => authHeaders(apiKey, server.kindConfig),

  async probe(context): Promise<ProbeResult> {
    const config = configOf(context.kindConfig);
    const health = await context.http.text(upstreamCall(context, config.health_path, `GET ${config.health_path}`));
    assertOk(health, `GET ${config.health_path}`);
    const names = new Set(config.models);
    if (config.models_path !== null) {
      const what = `GET ${config.models_path}`;
      const answer = await context.http.json(upstreamCall(context, config.models_path, what));
      const list = config.models_field === '' ? answer : valueAt(answer, config.models_field);
      if (!Array.isArray(list)) throw protocolError(what, `answer has no list at "${config.models_field}"`);
      for (const entry of list) {
        const name = typeof entry === 'string' ? entry : isRecord(entry) ? (stringField(entry, 'id') ?? stringField(entry, 'name') ?? stringField(entry, 'model')) : null;
        if (name !== null && name !== '') names.add(name);
      }
    }
    const models: DiscoveredModel[] = [...names].map((id) => ({ id, capabilities: [...config.capabilities], embeddingDimension: null, contextLength: null, status: 'loaded', details: { [capabilitySourceDetail]: 'declared' } }));
    return { models, load: null };
  },

  async probeEmbeddingDimension() {
    return null;
  },

  plan(operation, body, modelId, server) {
    const config = configOf(server.kindConfig);
    if (operation !== 'chat' && operation !== 'completion') return null;
    if (!config.capabilities.includes(operation)) return null;
    const values = placeholderValues(operation, body, modelId);
    return {
      method: config.method,
      path: generatePath(config, modelId),
      headers: authHeaders(server.apiKey?.reveal() ?? null, server.kindConfig),
      body: renderTemplate(config.request_template, values) as Record<string, unknown>,
      translate: (answer) => toOpenAIAnswer(answer, config, operation, modelId, String(values['prompt'])),
      synthesizeStream: true,
    };
  },
};
