import { errors } from '../../errors/error-catalogue.ts';

type Json = Record<string, unknown>;

/**
 * Ollama's requests as OpenAI Chat Completions (and completions, embeddings)
 * for servers that do not speak Ollama's API. Exact where the two overlap;
 * what only changes how a server runs (num_ctx, num_gpu, keep_alive …) is
 * dropped, since an OpenAI-compatible server sets those itself; what would
 * change the answer and has no equivalent is refused by name (400).
 */
export interface OllamaTranslation {
  body: Json;
  /** Fields and options no OpenAI-compatible server can honour: refused when such a server may be chosen. */
  refused: string[];
}

/** Runtime settings of Ollama's runner: an OpenAI-compatible server has its own, so dropping them changes no answer. */
const runtimeOptions = new Set([
  'num_ctx', 'num_gpu', 'num_thread', 'num_batch', 'main_gpu', 'use_mmap', 'use_mlock', 'numa', 'num_keep', 'low_vram', 'vocab_only', 'f16_kv', 'logits_all', 'embedding_only',
]);

/** Sampling options with an OpenAI (or vLLM extra) field of the same meaning. */
const sampling: Record<string, string> = {
  temperature: 'temperature',
  top_p: 'top_p',
  top_k: 'top_k',
  min_p: 'min_p',
  seed: 'seed',
  presence_penalty: 'presence_penalty',
  frequency_penalty: 'frequency_penalty',
  repeat_penalty: 'repetition_penalty',
};

/** `options` as OpenAI fields; anything that would change the answer without an equivalent is listed as refused. */
function translateOptions(options: unknown, into: Json, refused: string[]): void {
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) throw errors.invalidRequest('options must be an object.', 'options');
  for (const [name, value] of Object.entries(options as Json)) {
    if (value === null || value === undefined || runtimeOptions.has(name)) continue;
    const field = sampling[name];
    if (field !== undefined) {
      if (typeof value !== 'number') throw errors.invalidRequest(`options.${name} must be a number.`, `options.${name}`);
      into[field] = value;
    } else if (name === 'num_predict') {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw errors.invalidRequest('options.num_predict must be an integer.', 'options.num_predict');
      // -1 (no limit) and -2 (fill the context) leave the server's own limit.
      if (value >= 0) into['max_tokens'] = value;
    } else if (name === 'stop') {
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw errors.invalidRequest('options.stop must be a list of strings.', 'options.stop');
      if (value.length > 0) into['stop'] = value;
    } else if (name === 'repeat_last_n' || name === 'penalize_newline') {
      // Variants of repeat_penalty's window; the server's default window is the nearest honest equivalent.
      continue;
    } else {
      refused.push(`options.${name}`);
    }
  }
}

/** `format`: "json" or a JSON schema, as OpenAI's response_format. */
function translateFormat(format: unknown, into: Json): void {
  if (format === undefined || format === null || format === '') return;
  if (format === 'json') into['response_format'] = { type: 'json_object' };
  else if (typeof format === 'object' && !Array.isArray(format)) into['response_format'] = { type: 'json_schema', json_schema: { name: 'response', schema: format } };
  else throw errors.invalidRequest('format must be "json" or a JSON schema object.', 'format');
}

/** Raw base64 (as Ollama takes images) as a data URL; the type read from the image's first bytes. */
export function imageDataUrl(base64: string): string {
  const mime = base64.startsWith('/9j/') ? 'image/jpeg' : base64.startsWith('R0lGOD') ? 'image/gif' : base64.startsWith('UklGR') ? 'image/webp' : 'image/png';
  return `data:${mime};base64,${base64}`;
}

function withImages(text: string, images: unknown, param: string): unknown {
  if (images === undefined || images === null) return text;
  if (!Array.isArray(images) || !images.every((image) => typeof image === 'string')) throw errors.invalidRequest(`${param} must be a list of base64 strings.`, param);
  if (images.length === 0) return text;
  return [...(text === '' ? [] : [{ type: 'text', text }]), ...images.map((image) => ({ type: 'image_url', image_url: { url: imageDataUrl(image) } }))];
}

/**
 * Ollama's messages as OpenAI's. Ollama's tool calls carry no ids and its
 * tool results name no call: ids are given in order (`call_0`, …) and each
 * tool result answers the oldest unanswered call (of the same function when
 * it says `tool_name`), which is how Ollama's own templates pair them.
 */
export function messagesFromOllama(messages: unknown): Json[] {
  if (!Array.isArray(messages)) throw errors.invalidRequest('messages must be a list.', 'messages');
  const out: Json[] = [];
  const unanswered: Array<{ id: string; name: string }> = [];
  let nextCall = 0;
  for (const [position, message] of messages.entries()) {
    const param = `messages[${position}]`;
    if (message === null || typeof message !== 'object' || Array.isArray(message)) throw errors.invalidRequest(`${param} must be an object.`, param);
    const fields = message as Json;
    const role = fields['role'];
    const content = fields['content'] ?? '';
    if (typeof role !== 'string' || !['system', 'user', 'assistant', 'tool'].includes(role)) throw errors.invalidRequest(`${param}.role must be system, user, assistant or tool.`, `${param}.role`);
    if (typeof content !== 'string') throw errors.invalidRequest(`${param}.content must be a string.`, `${param}.content`);
    if (role === 'tool') {
      const name = typeof fields['tool_name'] === 'string' ? fields['tool_name'] : null;
      const at = name === null ? 0 : Math.max(0, unanswered.findIndex((call) => call.name === name));
      const call = unanswered.splice(at, 1)[0];
      out.push({ role: 'tool', tool_call_id: call?.id ?? `call_${nextCall++}`, content });
      continue;
    }
    const translated: Json = { role, content: role === 'user' ? withImages(content, fields['images'], `${param}.images`) : content };
    if (role === 'assistant' && Array.isArray(fields['tool_calls']) && fields['tool_calls'].length > 0) {
      translated['tool_calls'] = fields['tool_calls'].map((call, index) => {
        const fn = call !== null && typeof call === 'object' ? ((call as Json)['function'] as Json | undefined) : undefined;
        if (fn === undefined || typeof fn['name'] !== 'string') throw errors.invalidRequest(`${param}.tool_calls[${index}].function.name is required.`, `${param}.tool_calls`);
        const id = `call_${nextCall++}`;
        unanswered.push({ id, name: fn['name'] });
        return { id, type: 'function', function: { name: fn['name'], arguments: typeof fn['arguments'] === 'string' ? fn['arguments'] : JSON.stringify(fn['arguments'] ?? {}) } };
      });
      if (content === '') translated['content'] = null;
    }
    out.push(translated);
  }
  return out;
}

function common(body: Json, stream: boolean, refused: string[]): Json {
  const out: Json = { model: body['model'] };
  translateOptions(body['options'], out, refused);
  translateFormat(body['format'], out);
  if (stream) {
    out['stream'] = true;
    out['stream_options'] = { include_usage: true };
  }
  return out;
}

/** `/api/chat` as Chat Completions. Ollama's tools are already OpenAI's function tools. */
export function chatFromOllama(body: Json, stream: boolean): OllamaTranslation {
  const refused: string[] = [];
  const out = common(body, stream, refused);
  out['messages'] = messagesFromOllama(body['messages'] ?? []);
  if (Array.isArray(body['tools']) && body['tools'].length > 0) out['tools'] = body['tools'];
  return { body: out, refused };
}

/**
 * `/api/generate` as Chat Completions (the server applies the model's
 * template, as Ollama does), or as a plain completion with `raw` (no
 * template) or `suffix` (fill in the middle). A template or an earlier
 * answer's `context` token ids have no OpenAI equivalent.
 */
export function generateFromOllama(body: Json, stream: boolean): OllamaTranslation & { operation: 'chat' | 'completion' } {
  const refused: string[] = [];
  const out = common(body, stream, refused);
  if (typeof body['template'] === 'string' && body['template'] !== '') refused.push('template');
  if (Array.isArray(body['context']) && body['context'].length > 0) refused.push('context');
  const prompt = typeof body['prompt'] === 'string' ? body['prompt'] : '';
  const isRaw = body['raw'] === true || (typeof body['suffix'] === 'string' && body['suffix'] !== '');
  if (isRaw) {
    if (body['images'] !== undefined && body['images'] !== null && (body['images'] as unknown[]).length > 0) refused.push('images (with raw or suffix)');
    out['prompt'] = prompt;
    if (typeof body['suffix'] === 'string' && body['suffix'] !== '') out['suffix'] = body['suffix'];
    return { body: out, refused, operation: 'completion' };
  }
  const messages: Json[] = [];
  if (typeof body['system'] === 'string' && body['system'] !== '') messages.push({ role: 'system', content: body['system'] });
  messages.push({ role: 'user', content: withImages(prompt, body['images'], 'images') });
  out['messages'] = messages;
  return { body: out, refused, operation: 'chat' };
}

/** `/api/embed` (`input`: a string or strings) and the older `/api/embeddings` (`prompt`) as OpenAI embeddings. */
export function embedFromOllama(body: Json, legacy: boolean): Json {
  const input = legacy ? body['prompt'] : body['input'];
  if (legacy ? typeof input !== 'string' : !(typeof input === 'string' || (Array.isArray(input) && input.every((item) => typeof item === 'string')))) {
    throw errors.invalidRequest(legacy ? 'prompt must be a string.' : 'input must be a string or a list of strings.', legacy ? 'prompt' : 'input');
  }
  const out: Json = { model: body['model'], input };
  if (typeof body['dimensions'] === 'number') out['dimensions'] = body['dimensions'];
  return out;
}
