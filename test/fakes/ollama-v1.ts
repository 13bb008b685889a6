// Ollama's OpenAI-compatible /v1 endpoints (errors use Ollama's OpenAI error shape).
import { hasCapability } from './fake-server.ts';
import type { FakeModel, RequestContext } from './fake-server.ts';
import { asString, bodyRecord, estimateTokens, summariseMessages } from './fake-util.ts';
import type { JsonRecord } from './fake-util.ts';
import {
  completionPrompt,
  embeddingInputs,
  embeddingsList,
  openAIError,
  parseGeneration,
  respondChat,
  respondCompletion,
} from './openai-compat.ts';
import { OLLAMA_MODIFIED_UNIX, ollamaEmbeddingLength, ollamaName } from './ollama-shapes.ts';

/** The parts of OllamaFake the /v1 routes use. */
export interface OllamaV1Host {
  getModels(): FakeModel[];
  lookup(name: string): FakeModel | undefined;
  touch(model: FakeModel, keepAlive: unknown): void;
  reply(model: string, prompt: string): string;
}

const badRequest = (message: string): JsonRecord => openAIError(message, 'invalid_request_error', null);
const notFound = (message: string): JsonRecord => openAIError(message, 'not_found_error', null);

function modelEntry(model: FakeModel): JsonRecord {
  const id = ollamaName(model.id);
  const slash = id.indexOf('/');
  return { id, object: 'model', created: OLLAMA_MODIFIED_UNIX, owned_by: slash > 0 ? id.slice(0, slash) : 'library' };
}

/** Serves a /v1 route; false when the route is unknown. */
export async function serveOllamaV1(host: OllamaV1Host, ctx: RequestContext): Promise<boolean> {
  const body = bodyRecord(ctx.body);
  const answer = (status: number, payload: unknown): boolean => {
    ctx.json(status, payload);
    return true;
  };
  const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;
  if (method === 'GET' && ctx.path === '/v1/models') {
    ctx.json(200, { object: 'list', data: host.getModels().map(modelEntry) });
    return true;
  }
  if (method === 'GET' && ctx.path.startsWith('/v1/models/')) {
    const name = decodeURIComponent(ctx.path.slice('/v1/models/'.length));
    const model = host.lookup(name);
    if (model === undefined) ctx.json(404, notFound(`model "${name}" not found`));
    else ctx.json(200, modelEntry(model));
    return true;
  }
  if (method !== 'POST') return false;
  switch (ctx.path) {
    case '/v1/chat/completions':
    case '/v1/completions': {
      const chat = ctx.path === '/v1/chat/completions';
      const parsed = parseGeneration(body);
      if (!parsed.ok) return answer(400, badRequest(parsed.message));
      const request = parsed.value;
      const model = host.lookup(request.model);
      if (model === undefined) return answer(404, notFound(`model "${request.model}" not found, try pulling it first`));
      if (!hasCapability(model, 'completion')) return answer(400, badRequest(`"${request.model}" does not support ${chat ? 'chat' : 'generate'}`));
      let prompt: string;
      let promptTokens: number;
      if (chat) {
        if (!Array.isArray(body.messages) || body.messages.length === 0) return answer(400, badRequest('[] is too short - \'messages\''));
        ({ lastUser: prompt, promptTokens } = summariseMessages(body.messages));
      } else {
        const text = completionPrompt(body.prompt);
        if (text === undefined) return answer(400, badRequest('prompt is required'));
        prompt = text;
        promptTokens = estimateTokens(text) + 4;
      }
      host.touch(model, undefined);
      const plan = { ...request, responseModel: request.model, text: host.reply(request.model, prompt), promptTokens, style: 'ollama' as const };
      await (chat ? respondChat(ctx, plan) : respondCompletion(ctx, plan));
      return true;
    }
    case '/v1/embeddings': {
      const name = asString(body.model) ?? '';
      const model = host.lookup(name);
      if (model === undefined) return answer(404, notFound(`model "${name}" not found, try pulling it first`));
      const inputs = embeddingInputs(body.input);
      if (inputs === undefined) return answer(400, badRequest('invalid input type'));
      host.touch(model, undefined);
      ctx.json(200, embeddingsList(name, inputs, ollamaEmbeddingLength(model), body.encoding_format));
      return true;
    }
    default:
      return false;
  }
}
