import { errors } from '../../errors/error-catalogue.ts';
import { isRecord } from '../../data/adapters/shared/wire-values.ts';

type Json = Record<string, unknown>;

/**
 * Anthropic's Messages request as OpenAI Chat Completions. The system prompt
 * becomes the first message; content blocks become OpenAI parts (text,
 * image as a data URL or a URL); `tool_use` blocks become an assistant's
 * tool calls and `tool_result` blocks tool messages, placed first in their
 * turn as OpenAI requires. Earlier `thinking` blocks are dropped (they do not
 * change what the model is asked); what has no OpenAI equivalent and would
 * change the answer (server tools, documents, MCP servers) is refused by name.
 */
export function chatFromMessages(body: Json, stream: boolean): Json {
  const out: Json = { model: body['model'], max_tokens: body['max_tokens'] };
  const messages: Json[] = [];
  const system = systemText(body['system']);
  if (system !== null) messages.push({ role: 'system', content: system });
  const turns = body['messages'] as unknown[];
  for (const [position, turn] of turns.entries()) messages.push(...turnAsMessages(turn, `messages[${position}]`));
  out['messages'] = messages;
  if (Array.isArray(body['stop_sequences']) && body['stop_sequences'].length > 0) out['stop'] = body['stop_sequences'];
  for (const field of ['temperature', 'top_p', 'top_k'] as const) if (typeof body[field] === 'number') out[field] = body[field];
  const metadata = body['metadata'];
  if (metadata !== null && typeof metadata === 'object' && typeof (metadata as Json)['user_id'] === 'string') out['user'] = (metadata as Json)['user_id'];
  if (Array.isArray(body['tools']) && body['tools'].length > 0) out['tools'] = body['tools'].map(functionTool);
  translateToolChoice(body['tool_choice'], out);
  translateOutputFormat(body, out);
  if (Array.isArray(body['mcp_servers']) && body['mcp_servers'].length > 0) throw errors.invalidRequest('mcp_servers cannot be honoured: Switchyard\'s model servers do not connect to MCP servers.', 'mcp_servers');
  if (stream) {
    out['stream'] = true;
    out['stream_options'] = { include_usage: true };
  }
  return out;
}

function systemText(system: unknown): string | null {
  if (system === undefined || system === null) return null;
  if (typeof system === 'string') return system === '' ? null : system;
  if (!Array.isArray(system)) throw errors.invalidRequest('system must be a string or a list of text blocks.', 'system');
  const texts = system.map((block, index) => {
    if (!isRecord(block) || block['type'] !== 'text' || typeof block['text'] !== 'string') throw errors.invalidRequest(`system[${index}] must be a text block.`, `system.${index}`);
    return block['text'];
  });
  return texts.length === 0 ? null : texts.join('\n');
}

function turnAsMessages(turn: unknown, param: string): Json[] {
  if (!isRecord(turn)) throw errors.invalidRequest(`${param} must be an object.`, param);
  const role = turn['role'];
  if (role !== 'user' && role !== 'assistant') throw errors.invalidRequest(`${param}.role must be "user" or "assistant".`, `${param}.role`);
  const content = turn['content'];
  if (typeof content === 'string') return [{ role, content }];
  if (!Array.isArray(content)) throw errors.invalidRequest(`${param}.content must be a string or a list of content blocks.`, `${param}.content`);
  return role === 'assistant' ? [assistantMessage(content, param)] : userMessages(content, param);
}

function assistantMessage(blocks: unknown[], param: string): Json {
  let text = '';
  const toolCalls: Json[] = [];
  for (const [index, block] of blocks.entries()) {
    const at = `${param}.content[${index}]`;
    if (!isRecord(block)) throw errors.invalidRequest(`${at} must be an object.`, at);
    switch (block['type']) {
      case 'text':
        text += String(block['text'] ?? '');
        break;
      case 'tool_use':
        if (typeof block['id'] !== 'string' || typeof block['name'] !== 'string') throw errors.invalidRequest(`${at} needs an id and a name.`, at);
        toolCalls.push({ id: block['id'], type: 'function', function: { name: block['name'], arguments: JSON.stringify(block['input'] ?? {}) } });
        break;
      case 'thinking':
      case 'redacted_thinking':
        break;
      default:
        throw unsupportedBlock(block['type'], at);
    }
  }
  return toolCalls.length === 0 ? { role: 'assistant', content: text } : { role: 'assistant', content: text === '' ? null : text, tool_calls: toolCalls };
}

/** A user turn: its tool results as tool messages first (OpenAI wants them right after the calls), then what the user wrote. */
function userMessages(blocks: unknown[], param: string): Json[] {
  const results: Json[] = [];
  const parts: Json[] = [];
  for (const [index, block] of blocks.entries()) {
    const at = `${param}.content[${index}]`;
    if (!isRecord(block)) throw errors.invalidRequest(`${at} must be an object.`, at);
    switch (block['type']) {
      case 'text':
        parts.push({ type: 'text', text: String(block['text'] ?? '') });
        break;
      case 'image':
        parts.push(imagePart(block, at));
        break;
      case 'tool_result': {
        if (typeof block['tool_use_id'] !== 'string') throw errors.invalidRequest(`${at}.tool_use_id is required.`, `${at}.tool_use_id`);
        const text = toolResultText(block['content'], at);
        // OpenAI has no error flag on a tool result: the model reads it in the text, as it would in Anthropic's.
        results.push({ role: 'tool', tool_call_id: block['tool_use_id'], content: block['is_error'] === true ? `Error: ${text}` : text });
        break;
      }
      default:
        throw unsupportedBlock(block['type'], at);
    }
  }
  const out = [...results];
  if (parts.length > 0) out.push({ role: 'user', content: parts.every((part) => part['type'] === 'text') ? parts.map((part) => part['text']).join('\n') : parts });
  return out;
}

function imagePart(block: Json, at: string): Json {
  const source = block['source'];
  if (isRecord(source) && source['type'] === 'base64' && typeof source['data'] === 'string' && typeof source['media_type'] === 'string') {
    return { type: 'image_url', image_url: { url: `data:${source['media_type']};base64,${source['data']}` } };
  }
  if (isRecord(source) && source['type'] === 'url' && typeof source['url'] === 'string') return { type: 'image_url', image_url: { url: source['url'] } };
  throw errors.invalidRequest(`${at}.source must be a base64 image (type, media_type, data) or a URL.`, `${at}.source`);
}

function toolResultText(content: unknown, at: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw errors.invalidRequest(`${at}.content must be a string or text blocks.`, `${at}.content`);
  return content.map((block, index) => {
    if (isRecord(block) && block['type'] === 'text') return String(block['text'] ?? '');
    throw errors.invalidRequest(`${at}.content[${index}]: only text can be passed back as a tool result to these model servers.`, `${at}.content.${index}`);
  }).join('\n');
}

/** Anthropic's client tools are JSON-schema functions; its server tools (web search, code execution …) run at Anthropic only. */
function functionTool(tool: unknown, index: number): Json {
  if (!isRecord(tool) || typeof tool['name'] !== 'string') throw errors.invalidRequest(`tools[${index}] needs a name.`, `tools.${index}`);
  const type = tool['type'];
  if (type !== undefined && type !== null && type !== 'custom') {
    throw errors.invalidRequest(`tools[${index}].type "${String(type)}" is a tool Anthropic runs itself; these model servers can only call functions (tools with an input_schema).`, `tools.${index}.type`);
  }
  return { type: 'function', function: { name: tool['name'], ...(typeof tool['description'] === 'string' ? { description: tool['description'] } : {}), parameters: tool['input_schema'] ?? { type: 'object', properties: {} } } };
}

function translateToolChoice(choice: unknown, into: Json): void {
  if (!isRecord(choice)) return;
  switch (choice['type']) {
    case 'auto':
      into['tool_choice'] = 'auto';
      break;
    case 'any':
      into['tool_choice'] = 'required';
      break;
    case 'none':
      into['tool_choice'] = 'none';
      break;
    case 'tool':
      if (typeof choice['name'] !== 'string') throw errors.invalidRequest('tool_choice.name is required with type "tool".', 'tool_choice.name');
      into['tool_choice'] = { type: 'function', function: { name: choice['name'] } };
      break;
    default:
      throw errors.invalidRequest('tool_choice.type must be auto, any, tool or none.', 'tool_choice.type');
  }
  if (choice['disable_parallel_tool_use'] === true) into['parallel_tool_calls'] = false;
}

/** Structured output (`output_config.format`, or the older beta `output_format`): a JSON schema, as OpenAI's response_format. */
function translateOutputFormat(body: Json, into: Json): void {
  const config = body['output_config'];
  const format = (isRecord(config) ? config['format'] : undefined) ?? body['output_format'];
  if (format === undefined || format === null) return;
  if (!isRecord(format) || format['type'] !== 'json_schema' || !isRecord(format['schema'])) throw errors.invalidRequest('output_config.format must be {type: "json_schema", schema}.', 'output_config.format');
  into['response_format'] = { type: 'json_schema', json_schema: { name: 'output', schema: format['schema'] } };
}

function unsupportedBlock(type: unknown, at: string) {
  return errors.invalidRequest(`${at}: content blocks of type "${String(type)}" cannot be passed to these model servers (text, image, tool_use and tool_result can).`, `${at}.type`);
}
