import { capabilitySourceDetail, type CapabilitySource } from '../../../domain/model-server.ts';
import { capabilitiesFromName } from '../shared/capability-heuristics.ts';
import type { DiscoveredModel } from '../server-adapter.ts';
import { arrayField, isRecord, positiveInteger, protocolError, recordField, stringField } from '../shared/wire-values.ts';

/**
 * Reads an OpenAI-style `/v1/models` list. Servers add their own fields:
 * vLLM `max_model_len`, llama.cpp `meta.n_ctx_train`/`meta.n_embd`, others
 * `context_length` or LM Studio's `max_context_length`.
 */
export function parseModelList(body: unknown): DiscoveredModel[] {
  const data = isRecord(body) ? arrayField(body, 'data') : null;
  if (data === null) throw protocolError('GET /v1/models', 'answer has no "data" list');
  const models: DiscoveredModel[] = [];
  for (const entry of data) {
    if (!isRecord(entry)) continue;
    const id = stringField(entry, 'id');
    if (id === null || id === '') continue;
    const meta = recordField(entry, 'meta') ?? {};
    // An OpenAI-style list says nothing of what a model does: the name decides (see capabilitiesFromName).
    const details: Record<string, unknown> = { [capabilitySourceDetail]: 'name' satisfies CapabilitySource };
    const ownedBy = stringField(entry, 'owned_by');
    if (ownedBy !== null) details['owned_by'] = ownedBy;
    const root = stringField(entry, 'root');
    if (root !== null && root !== id) details['root'] = root;
    // vLLM lists a LoRA adapter with the base model it runs on.
    const parent = stringField(entry, 'parent');
    if (parent !== null && parent !== '') details['parent'] = parent;
    models.push({
      id,
      capabilities: capabilitiesFromName(id),
      embeddingDimension: positiveInteger(meta['n_embd']),
      contextLength:
        positiveInteger(entry['max_model_len']) ??
        positiveInteger(entry['context_length']) ??
        positiveInteger(entry['max_context_length']) ??
        positiveInteger(meta['n_ctx_train']),
      status: 'loaded',
      details,
    });
  }
  return models;
}

/** Dimension of the first vector of an OpenAI `/v1/embeddings` answer. */
export function embeddingLength(body: unknown): number | null {
  const data = isRecord(body) ? arrayField(body, 'data') : null;
  const first = data?.[0];
  if (!isRecord(first)) return null;
  const embedding = first['embedding'];
  if (Array.isArray(embedding)) return embedding.length > 0 ? embedding.length : null;
  // base64 float32 when a server ignores our encoding_format.
  if (typeof embedding === 'string') return Buffer.from(embedding, 'base64').length / 4 || null;
  return null;
}
