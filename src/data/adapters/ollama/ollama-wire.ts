import { arrayField, isRecord, numberField, protocolError, recordField, stringField } from '../shared/wire-values.ts';

/** The parts of Ollama's answers Switchyard reads (Ollama 0.x native API). */
export interface OllamaTag {
  name: string;
  digest: string | null;
  sizeBytes: number | null;
  family: string | null;
  parameterSize: string | null;
  quantization: string | null;
  modifiedAt: string | null;
}

export interface OllamaShow {
  capabilities: string[] | null;
  modelInfo: Record<string, unknown>;
}

export interface OllamaRunning {
  name: string;
  sizeBytes: number | null;
  vramBytes: number | null;
  contextLength: number | null;
  expiresAt: string | null;
}

export function parseTags(body: unknown): OllamaTag[] {
  const models = isRecord(body) ? arrayField(body, 'models') : null;
  if (models === null) throw protocolError('GET /api/tags', 'answer has no "models" list');
  const tags: OllamaTag[] = [];
  for (const entry of models) {
    if (!isRecord(entry)) continue;
    const name = stringField(entry, 'name') ?? stringField(entry, 'model');
    if (name === null) continue;
    const details = recordField(entry, 'details') ?? {};
    tags.push({
      name,
      digest: stringField(entry, 'digest'),
      sizeBytes: numberField(entry, 'size'),
      family: stringField(details, 'family'),
      parameterSize: stringField(details, 'parameter_size'),
      quantization: stringField(details, 'quantization_level'),
      modifiedAt: stringField(entry, 'modified_at'),
    });
  }
  return tags;
}

export function parseShow(body: unknown): OllamaShow {
  if (!isRecord(body)) throw protocolError('POST /api/show', 'answer is not an object');
  const capabilities = arrayField(body, 'capabilities');
  return {
    capabilities: capabilities === null ? null : capabilities.filter((item): item is string => typeof item === 'string'),
    modelInfo: recordField(body, 'model_info') ?? {},
  };
}

export function parseRunning(body: unknown): OllamaRunning[] {
  const models = isRecord(body) ? arrayField(body, 'models') : null;
  if (models === null) throw protocolError('GET /api/ps', 'answer has no "models" list');
  const running: OllamaRunning[] = [];
  for (const entry of models) {
    if (!isRecord(entry)) continue;
    const name = stringField(entry, 'name') ?? stringField(entry, 'model');
    if (name === null) continue;
    running.push({
      name,
      sizeBytes: numberField(entry, 'size'),
      vramBytes: numberField(entry, 'size_vram'),
      contextLength: numberField(entry, 'context_length'),
      expiresAt: stringField(entry, 'expires_at'),
    });
  }
  return running;
}

/** `model_info` keys are prefixed by the architecture: `llama.context_length`, `bert.embedding_length`. */
export function architectureValue(modelInfo: Record<string, unknown>, suffix: string): number | null {
  const architecture = modelInfo['general.architecture'];
  if (typeof architecture === 'string') {
    const value = modelInfo[`${architecture}.${suffix}`];
    if (typeof value === 'number') return value;
  }
  for (const [key, value] of Object.entries(modelInfo)) {
    if (key.endsWith(`.${suffix}`) && typeof value === 'number') return value;
  }
  return null;
}
