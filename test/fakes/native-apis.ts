// Anthropic's Messages (/v1/messages) and OpenAI's Responses (/v1/responses)
// as a vLLM server serves them itself (vLLM ≥ 0.11 has both): the shapes and
// event sequences of those APIs, text only, from the fake's usual reply.
import type { RequestContext } from './fake-server.ts';
import { contentText, estimateTokens, isRecord, planTokens, randomId, unixSeconds } from './fake-util.ts';
import type { JsonRecord } from './fake-util.ts';

export interface NativeReply {
  model: string;
  /** The whole reply before the token limit. */
  text: string;
  promptTokens: number;
  maxTokens: number | undefined;
}

/** The last user text of an Anthropic or Responses request, and its rough token count. */
export function nativePrompt(body: JsonRecord, api: 'anthropic' | 'responses'): { prompt: string; promptTokens: number } {
  if (api === 'responses' && typeof body.input === 'string') return { prompt: body.input, promptTokens: estimateTokens(body.input) + 4 };
  const turns = api === 'anthropic' ? body.messages : body.input;
  let prompt = '';
  let tokens = 0;
  for (const turn of Array.isArray(turns) ? turns : []) {
    if (!isRecord(turn)) continue;
    const content = turn.content;
    const text = typeof content === 'string' ? content : Array.isArray(content) ? content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : contentText([part]))).join('') : '';
    tokens += estimateTokens(text) + 4;
    if (turn.role === 'user') prompt = text;
  }
  return { prompt, promptTokens: tokens };
}

export async function respondMessages(ctx: RequestContext, reply: NativeReply, stream: boolean): Promise<void> {
  const { tokens, finish } = planTokens(reply.text, reply.maxTokens);
  const id = `msg_${randomId(24)}`;
  const stopReason = finish === 'length' ? 'max_tokens' : 'end_turn';
  if (!stream) {
    ctx.json(200, { id, type: 'message', role: 'assistant', model: reply.model, content: [{ type: 'text', text: tokens.join('') }], stop_reason: stopReason, stop_sequence: null, usage: { input_tokens: reply.promptTokens, output_tokens: tokens.length } });
    return;
  }
  const out = ctx.stream('sse');
  await out.sendEvent('message_start', { type: 'message_start', message: { id, type: 'message', role: 'assistant', model: reply.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: reply.promptTokens, output_tokens: 1 } } });
  await out.sendEvent('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  for (const token of tokens) await out.sendEvent('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: token } });
  await out.sendEvent('content_block_stop', { type: 'content_block_stop', index: 0 });
  await out.sendEvent('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: tokens.length } });
  await out.sendEvent('message_stop', { type: 'message_stop' });
  await out.finish(false);
}

export async function respondResponses(ctx: RequestContext, reply: NativeReply, stream: boolean): Promise<void> {
  const { tokens, finish } = planTokens(reply.text, reply.maxTokens);
  const id = `resp_${randomId(24)}`;
  const itemId = `msg_${randomId(24)}`;
  const text = tokens.join('');
  const base = { id, object: 'response', created_at: unixSeconds(), model: reply.model, error: null, incomplete_details: null, instructions: null, tools: [], tool_choice: 'auto', parallel_tool_calls: true, store: false, metadata: {} };
  const item = (content: string, status: string) => ({ id: itemId, type: 'message', status, role: 'assistant', content: [{ type: 'output_text', text: content, annotations: [] }] });
  const usage = { input_tokens: reply.promptTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: tokens.length, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: reply.promptTokens + tokens.length };
  const status = finish === 'length' ? 'incomplete' : 'completed';
  const final = { ...base, status, ...(finish === 'length' ? { incomplete_details: { reason: 'max_output_tokens' } } : {}), output: [item(text, 'completed')], usage };
  if (!stream) {
    ctx.json(200, final);
    return;
  }
  const out = ctx.stream('sse');
  let sequence = 0;
  const send = (type: string, payload: JsonRecord) => out.sendEvent(type, { type, sequence_number: sequence++, ...payload });
  await send('response.created', { response: { ...base, status: 'in_progress', output: [], usage: null } });
  await send('response.in_progress', { response: { ...base, status: 'in_progress', output: [], usage: null } });
  await send('response.output_item.added', { output_index: 0, item: { ...item('', 'in_progress'), content: [] } });
  await send('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
  for (const token of tokens) await send('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta: token });
  await send('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text });
  await send('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', text, annotations: [] } });
  await send('response.output_item.done', { output_index: 0, item: item(text, 'completed') });
  await send(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: final });
  await out.finish(false);
}
