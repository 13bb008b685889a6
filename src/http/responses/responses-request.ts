import { errors } from '../../errors/error-catalogue.ts';
import { isRecord } from '../../data/adapters/shared/wire-values.ts';

type Json = Record<string, unknown>;

export interface ResponsesTranslation {
  /** The Chat Completions body. */
  chat: Json;
  /** The request's input, as items (a string input becomes one user message), for storage and input_items. */
  inputItems: Json[];
  /** The conversation this request adds to: earlier turns (from previous_response_id) and its input, as chat messages. */
  conversation: Json[];
}

/** Request fields that ask for what these servers cannot do: refused by name rather than silently ignored. */
const refusedFields: Record<string, string> = {
  background: 'background responses are not supported; ask without background (a stream gives early output)',
  conversation: 'the Conversations API is not supported; continue with previous_response_id',
  prompt: 'stored prompt templates are not supported; send the instructions and input',
};

/**
 * OpenAI's Responses request as Chat Completions: `instructions` as the
 * system message (not carried over from a previous response, as OpenAI does),
 * the previous response's conversation, then the input items: messages
 * (input_text, input_image, output_text parts), function calls (merged into
 * the assistant turn they belong to) and their outputs (tool messages).
 * Function tools only: built-in tools (web search, file search …) run at
 * OpenAI and are refused by name.
 */
export function chatFromResponses(body: Json, previous: readonly Json[], stream: boolean): ResponsesTranslation {
  for (const [field, why] of Object.entries(refusedFields)) {
    if (body[field] !== undefined && body[field] !== null && body[field] !== false) throw errors.invalidRequest(`${field}: ${why}.`, field);
  }
  const inputItems = itemsOf(body['input']);
  const added = messagesFrom(inputItems);
  const conversation = [...previous, ...added];
  const messages: Json[] = [];
  if (typeof body['instructions'] === 'string' && body['instructions'] !== '') messages.push({ role: 'system', content: body['instructions'] });
  messages.push(...conversation);
  const chat: Json = { model: body['model'], messages };
  if (typeof body['max_output_tokens'] === 'number') chat['max_tokens'] = body['max_output_tokens'];
  for (const field of ['temperature', 'top_p', 'parallel_tool_calls'] as const) if (body[field] !== undefined && body[field] !== null) chat[field] = body[field];
  const user = body['safety_identifier'] ?? body['user'];
  if (typeof user === 'string') chat['user'] = user;
  if (Array.isArray(body['tools']) && body['tools'].length > 0) chat['tools'] = body['tools'].map(functionTool);
  const choice = toolChoice(body['tool_choice']);
  if (choice !== undefined) chat['tool_choice'] = choice;
  const format = responseFormat(body['text']);
  if (format !== undefined) chat['response_format'] = format;
  if (stream) {
    chat['stream'] = true;
    chat['stream_options'] = { include_usage: true };
  }
  return { chat, inputItems, conversation };
}

function itemsOf(input: unknown): Json[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }];
  if (!Array.isArray(input)) throw errors.invalidRequest('input must be a string or a list of items.', 'input');
  return input.map((item, index) => {
    if (!isRecord(item)) throw errors.invalidRequest(`input[${index}] must be an object.`, `input[${index}]`);
    // An "easy" message ({role, content}) is a message item.
    return item['type'] === undefined && typeof item['role'] === 'string' ? { type: 'message', ...item } : item;
  });
}

function messagesFrom(items: readonly Json[]): Json[] {
  const out: Json[] = [];
  for (const [index, item] of items.entries()) {
    const at = `input[${index}]`;
    switch (item['type']) {
      case 'message':
        out.push(messageOf(item, at));
        break;
      case 'function_call': {
        if (typeof item['call_id'] !== 'string' || typeof item['name'] !== 'string') throw errors.invalidRequest(`${at} needs call_id and name.`, at);
        const call = { id: item['call_id'], type: 'function', function: { name: item['name'], arguments: typeof item['arguments'] === 'string' ? item['arguments'] : JSON.stringify(item['arguments'] ?? {}) } };
        const last = out.at(-1);
        // Calls made in one turn are one assistant message, after any text of that turn.
        if (last !== undefined && last['role'] === 'assistant') (last['tool_calls'] as Json[] | undefined)?.push(call) ?? (last['tool_calls'] = [call]);
        else out.push({ role: 'assistant', content: null, tool_calls: [call] });
        break;
      }
      case 'function_call_output': {
        if (typeof item['call_id'] !== 'string') throw errors.invalidRequest(`${at}.call_id is required.`, `${at}.call_id`);
        out.push({ role: 'tool', tool_call_id: item['call_id'], content: typeof item['output'] === 'string' ? item['output'] : textOf(item['output'], `${at}.output`) });
        break;
      }
      case 'reasoning':
        // Earlier reasoning does not change what is asked; these servers take none back.
        break;
      default:
        throw errors.invalidRequest(`${at}: items of type "${String(item['type'])}" cannot be sent to these model servers (messages, function_call and function_call_output can).`, `${at}.type`);
    }
  }
  return out;
}

function messageOf(item: Json, at: string): Json {
  const role = item['role'];
  if (role !== 'user' && role !== 'assistant' && role !== 'system' && role !== 'developer') throw errors.invalidRequest(`${at}.role must be user, assistant, system or developer.`, `${at}.role`);
  // Most open servers know no `developer` role: it means what `system` means to them.
  const chatRole = role === 'developer' ? 'system' : role;
  const content = item['content'];
  if (typeof content === 'string') return { role: chatRole, content };
  if (!Array.isArray(content)) throw errors.invalidRequest(`${at}.content must be a string or a list of parts.`, `${at}.content`);
  const parts = content.map((part, index) => partOf(part, `${at}.content[${index}]`));
  if (parts.every((part) => part['type'] === 'text')) return { role: chatRole, content: parts.map((part) => part['text']).join('') };
  if (chatRole !== 'user') throw errors.invalidRequest(`${at}: only user messages may carry images.`, `${at}.content`);
  return { role: chatRole, content: parts };
}

function partOf(part: unknown, at: string): Json {
  if (!isRecord(part)) throw errors.invalidRequest(`${at} must be an object.`, at);
  switch (part['type']) {
    case 'input_text':
    case 'output_text':
    case 'text':
      return { type: 'text', text: String(part['text'] ?? '') };
    case 'refusal':
      return { type: 'text', text: String(part['refusal'] ?? '') };
    case 'input_image': {
      if (typeof part['image_url'] !== 'string') throw errors.invalidRequest(`${at}: an input_image needs image_url (a URL or a data URL); file ids are not supported.`, `${at}.image_url`);
      return { type: 'image_url', image_url: { url: part['image_url'], ...(typeof part['detail'] === 'string' ? { detail: part['detail'] } : {}) } };
    }
    default:
      throw errors.invalidRequest(`${at}: content of type "${String(part['type'])}" cannot be sent to these model servers (input_text, input_image, output_text can).`, `${at}.type`);
  }
}

function textOf(value: unknown, at: string): string {
  if (!Array.isArray(value)) throw errors.invalidRequest(`${at} must be a string or text parts.`, at);
  return value.map((part, index) => String(partOf(part, `${at}[${index}]`)['text'] ?? '')).join('');
}

function functionTool(tool: unknown, index: number): Json {
  if (!isRecord(tool) || tool['type'] !== 'function') {
    const type = isRecord(tool) ? String(tool['type']) : 'unknown';
    throw errors.invalidRequest(`tools[${index}].type "${type}" is a tool OpenAI runs itself; these model servers can only call functions (type "function").`, `tools[${index}].type`);
  }
  if (typeof tool['name'] !== 'string' || tool['name'] === '') throw errors.invalidRequest(`tools[${index}].name is required.`, `tools[${index}].name`);
  return {
    type: 'function',
    function: {
      name: tool['name'],
      ...(typeof tool['description'] === 'string' ? { description: tool['description'] } : {}),
      parameters: tool['parameters'] ?? { type: 'object', properties: {} },
      ...(typeof tool['strict'] === 'boolean' ? { strict: tool['strict'] } : {}),
    },
  };
}

function toolChoice(choice: unknown): unknown {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (isRecord(choice) && choice['type'] === 'function' && typeof choice['name'] === 'string') return { type: 'function', function: { name: choice['name'] } };
  throw errors.invalidRequest('tool_choice must be auto, none, required or {type: "function", name}.', 'tool_choice');
}

function responseFormat(text: unknown): unknown {
  if (!isRecord(text) || text['format'] === undefined || text['format'] === null) return undefined;
  const format = text['format'];
  if (!isRecord(format)) throw errors.invalidRequest('text.format must be an object.', 'text.format');
  switch (format['type']) {
    case 'text':
      return undefined;
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema':
      if (typeof format['name'] !== 'string' || !isRecord(format['schema'])) throw errors.invalidRequest('text.format of type json_schema needs a name and a schema.', 'text.format');
      return { type: 'json_schema', json_schema: { name: format['name'], schema: format['schema'], ...(typeof format['strict'] === 'boolean' ? { strict: format['strict'] } : {}), ...(typeof format['description'] === 'string' ? { description: format['description'] } : {}) } };
    default:
      throw errors.invalidRequest('text.format.type must be text, json_object or json_schema.', 'text.format.type');
  }
}
