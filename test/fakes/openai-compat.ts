// OpenAI-compatible response builders shared by the OpenAI/vLLM/llama.cpp fake,
// Ollama's /v1 endpoints and TEI's /v1/embeddings. Small per-server differences
// are selected by `CompatStyle`.
import type { RequestContext } from './fake-server.ts';
import { asNumber, embedText, estimateTokens, float32Base64, isRecord, planTokens, randomId, unixSeconds } from './fake-util.ts';
import type { JsonRecord } from './fake-util.ts';

export type CompatStyle = 'ollama' | 'vllm' | 'llamacpp' | 'generic';

export function openAIError(message: string, type: string, code: string | number | null, param: string | null = null): JsonRecord {
  return { error: { message, type, param, code } };
}

/** Validated fields of a chat/completions request. */
export interface GenerationRequest {
  model: string;
  stream: boolean;
  includeUsage: boolean;
  maxTokens: number | undefined;
  /** `tool_choice: {type: "function", function: {name}}` with tools: the answer is a call of that function. */
  toolCall?: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; message: string; param: string };

export function parseGeneration(body: JsonRecord): Validated<GenerationRequest> {
  const model = body.model;
  if (typeof model !== 'string' || model.length === 0) return { ok: false, message: 'you must provide a model parameter', param: 'model' };
  const n = asNumber(body.n);
  if (n !== undefined && n !== 1) return { ok: false, message: 'this fake only supports n=1', param: 'n' };
  const streamOptions = isRecord(body.stream_options) ? body.stream_options : {};
  return {
    ok: true,
    value: {
      model,
      stream: body.stream === true,
      includeUsage: streamOptions.include_usage === true,
      maxTokens: asNumber(body.max_completion_tokens) ?? asNumber(body.max_tokens),
      ...forcedToolCall(body),
    },
  };
}

/**
 * Which function the answer calls, if any: the one `tool_choice` names, the
 * first with `required`, or (`auto`) one the user's last message names: a
 * deterministic stand-in for a model deciding to use a tool. After a tool
 * result the model answers in words, as real ones do.
 */
function forcedToolCall(body: JsonRecord): { toolCall?: string } {
  if (!Array.isArray(body.tools) || body.tools.length === 0 || body.tool_choice === 'none') return {};
  const choice = isRecord(body.tool_choice) ? body.tool_choice : null;
  const named = choice !== null && isRecord(choice.function) ? choice.function.name : undefined;
  if (typeof named === 'string') return { toolCall: named };
  const names = body.tools.map((tool) => (isRecord(tool) && isRecord(tool.function) ? tool.function.name : undefined)).filter((name): name is string => typeof name === 'string');
  if (body.tool_choice === 'required' && names[0] !== undefined) return { toolCall: names[0] };
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last = messages.at(-1);
  if (!isRecord(last) || last.role !== 'user') return {};
  const text = typeof last.content === 'string' ? last.content : JSON.stringify(last.content ?? '');
  const mentioned = names.find((name) => text.includes(name));
  return mentioned === undefined ? {} : { toolCall: mentioned };
}

/** The arguments a forced tool call answers with, and how a server streams them (in pieces, as OpenAI does). */
const toolArguments = ['{"city": ', '"Paris", ', '"unit": "celsius"}'];

export interface GenerationPlan extends GenerationRequest {
  /** Model id echoed in responses. */
  responseModel: string;
  /** Full reply text before the max-token cap. */
  text: string;
  promptTokens: number;
  style: CompatStyle;
}

function usage(prompt: number, completion: number): JsonRecord {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function fingerprint(style: CompatStyle): JsonRecord {
  if (style === 'ollama') return { system_fingerprint: 'fp_ollama' };
  if (style === 'llamacpp') return { system_fingerprint: 'b6000-fake' };
  return {};
}

function choiceExtras(style: CompatStyle): JsonRecord {
  if (style === 'ollama') return {};
  if (style === 'vllm') return { logprobs: null, stop_reason: null };
  return { logprobs: null };
}

/** Answers POST /v1/chat/completions (JSON or SSE). */
export async function respondChat(ctx: RequestContext, plan: GenerationPlan): Promise<void> {
  const { tokens, finish } = planTokens(plan.text, plan.maxTokens);
  const id = `chatcmpl-${randomId()}`;
  const created = unixSeconds();
  const head = { id, object: 'chat.completion.chunk', created, model: plan.responseModel, ...fingerprint(plan.style) };
  const extras = choiceExtras(plan.style);
  if (plan.toolCall !== undefined) return respondToolCall(ctx, plan, { id, created, head, extras });
  if (!plan.stream) {
    const choice = { index: 0, message: { role: 'assistant', content: tokens.join('') }, ...extras, finish_reason: finish };
    ctx.json(200, {
      id,
      object: 'chat.completion',
      created,
      model: plan.responseModel,
      ...fingerprint(plan.style),
      choices: [choice],
      usage: usage(plan.promptTokens, tokens.length),
      ...(plan.style === 'vllm' ? { prompt_logprobs: null } : {}),
    });
    return;
  }
  const stream = ctx.stream('sse');
  const chunk = (delta: JsonRecord, finishReason: string | null): JsonRecord => ({
    ...head,
    choices: [{ index: 0, delta, ...extras, finish_reason: finishReason }],
  });
  if (plan.style === 'ollama') {
    // Ollama repeats the role in every delta and ends with an empty-content chunk.
    for (const token of tokens) await stream.send(chunk({ role: 'assistant', content: token }, null));
    await stream.send(chunk({ role: 'assistant', content: '' }, finish));
  } else if (plan.style === 'vllm') {
    // vLLM: role-only first delta, finish_reason on the last content chunk.
    await stream.send(chunk({ role: 'assistant', content: '' }, null));
    if (tokens.length === 0) await stream.send(chunk({ content: '' }, finish));
    for (const [i, token] of tokens.entries()) await stream.send(chunk({ content: token }, i === tokens.length - 1 ? finish : null));
  } else {
    // OpenAI / llama.cpp: role first, content chunks, then an empty delta carrying finish_reason.
    await stream.send(chunk({ role: 'assistant', content: '' }, null));
    for (const token of tokens) await stream.send(chunk({ content: token }, null));
    await stream.send(chunk({}, finish));
  }
  if (plan.includeUsage) await stream.send({ ...head, choices: [], usage: usage(plan.promptTokens, tokens.length) });
  await stream.finish();
}

/** A chat answer that calls the forced function: JSON, or SSE with the arguments in pieces merged by index. */
async function respondToolCall(ctx: RequestContext, plan: GenerationPlan, parts: { id: string; created: number; head: JsonRecord; extras: JsonRecord }): Promise<void> {
  const callId = `call_${randomId(12)}`;
  const name = plan.toolCall as string;
  const completionTokens = 12;
  if (!plan.stream) {
    const call = { id: callId, type: 'function', function: { name, arguments: toolArguments.join('') } };
    ctx.json(200, {
      id: parts.id,
      object: 'chat.completion',
      created: parts.created,
      model: plan.responseModel,
      choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [call] }, ...parts.extras, finish_reason: 'tool_calls' }],
      usage: usage(plan.promptTokens, completionTokens),
    });
    return;
  }
  const stream = ctx.stream('sse');
  const chunk = (delta: JsonRecord, finishReason: string | null): JsonRecord => ({ ...parts.head, choices: [{ index: 0, delta, ...parts.extras, finish_reason: finishReason }] });
  await stream.send(chunk({ role: 'assistant', content: null }, null));
  await stream.send(chunk({ tool_calls: [{ index: 0, id: callId, type: 'function', function: { name, arguments: '' } }] }, null));
  for (const piece of toolArguments) await stream.send(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null));
  await stream.send(chunk({}, 'tool_calls'));
  if (plan.includeUsage) await stream.send({ ...parts.head, choices: [], usage: usage(plan.promptTokens, completionTokens) });
  await stream.finish();
}

/** Answers POST /v1/completions for one prompt (JSON or SSE `text_completion` objects). */
export async function respondCompletion(ctx: RequestContext, plan: GenerationPlan): Promise<void> {
  const { tokens, finish } = planTokens(plan.text, plan.maxTokens);
  const id = `cmpl-${randomId()}`;
  const created = unixSeconds();
  const head = { id, object: 'text_completion', created, model: plan.responseModel, ...fingerprint(plan.style) };
  const extras = choiceExtras(plan.style);
  if (!plan.stream) {
    ctx.json(200, {
      ...head,
      choices: [{ index: 0, text: tokens.join(''), ...extras, finish_reason: finish }],
      usage: usage(plan.promptTokens, tokens.length),
    });
    return;
  }
  const stream = ctx.stream('sse');
  const chunk = (text: string, finishReason: string | null): JsonRecord => ({
    ...head,
    choices: [{ index: 0, text, ...extras, finish_reason: finishReason }],
  });
  if (tokens.length === 0) await stream.send(chunk('', finish));
  for (const [i, token] of tokens.entries()) await stream.send(chunk(token, i === tokens.length - 1 ? finish : null));
  if (plan.includeUsage) await stream.send({ ...head, choices: [], usage: usage(plan.promptTokens, tokens.length) });
  await stream.finish();
}

/** Prompt text of a /v1/completions request (string, string[] joined, or token ids). */
export function completionPrompt(prompt: unknown): string | undefined {
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt)) return prompt.map((p) => (typeof p === 'string' || typeof p === 'number' ? String(p) : '')).join(' ');
  return undefined;
}

/** `input` of an embeddings request as a list of strings, or undefined when malformed. */
export function embeddingInputs(input: unknown): string[] | undefined {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'string')) return input;
  return undefined;
}

/** OpenAI embeddings list; `base64` encodes little-endian float32. */
export function embeddingsList(model: string, inputs: string[], dimension: number, encoding: unknown): JsonRecord {
  const promptTokens = inputs.reduce((sum, text) => sum + estimateTokens(text), 0);
  return {
    object: 'list',
    data: inputs.map((text, index) => {
      const vector = embedText(text, dimension);
      return { object: 'embedding', index, embedding: encoding === 'base64' ? float32Base64(vector) : vector };
    }),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}
