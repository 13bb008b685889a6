import type { OutgoingHttpHeaders } from 'node:http';
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { InternalRest } from '../http/internal/internal-rest.ts';
import type { CallContext, CallTracker } from './grpc-call.ts';
import { FrontDoorError, isExpected, toGrpcError } from './grpc-status.ts';
import { fromProtoStruct, toProtoStruct, type ProtoStruct } from './struct-value.ts';
import { streamChat } from './chat-stream.ts';
import { watchServers } from './watch-servers.ts';

type Json = Record<string, unknown>;

// Requests as proto-loader decodes them (defaults off): a field not sent is absent.
interface GenerateRequest { model?: string; prompt?: string; system?: string; max_tokens?: number; temperature?: number }
interface EmbedRequest { model?: string; input?: string[]; dimensions?: number }
interface RerankRequest { model?: string; query?: string; documents?: string[]; top_n?: number; return_documents?: boolean }
interface ModelRequest { model?: string }
interface VectorItem { id?: string; text?: string; vector?: number[]; metadata?: ProtoStruct }
interface StoreVectorRequest { model?: string; texts?: string[]; items?: VectorItem[] }
interface SearchVectorsRequest { model?: string; query?: string; vector?: number[]; top_k?: number; filter?: ProtoStruct }

export interface ModelServiceDependencies {
  rest: InternalRest;
  calls: CallTracker;
  /** For failures that are ours (not a REST answer): the detail goes here, not to the caller. */
  onInternalError: (method: string, error: unknown) => void;
}

/**
 * gateway.ModelService: each method is one REST call made in-process with the
 * caller's key (InternalRest), so it needs exactly the scope its REST route
 * needs and is limited, routed and recorded (api `grpc`) as REST is. Answers
 * are REST's JSON as it is: the proto's fields are named after it, and a null
 * is an unset field.
 */
export function modelServiceHandlers(dependencies: ModelServiceDependencies): UntypedServiceImplementation {
  const { rest } = dependencies;
  const unary = <Request, Response>(method: string, run: (request: Request, context: CallContext) => Promise<Response>) => (call: ServerUnaryCall<Request, Response>, callback: sendUnaryData<Response>) => {
    const context = dependencies.calls.open(call);
    run(call.request, context).then(
      (response) => {
        context.close();
        callback(null, response);
      },
      (error: unknown) => {
        context.close();
        if (!isExpected(error)) dependencies.onInternalError(method, error);
        callback(toGrpcError(error));
      },
    );
  };
  const post = async (context: CallContext, url: string, body: unknown) => rest.json<Json>(context.caller, 'POST', url, body, context.signal);
  const get = async (context: CallContext, url: string) => (await rest.json<Json>(context.caller, 'GET', url, undefined, context.signal)).body;

  return {
    Chat: (call: ServerWritableStream<Json, Json>) => streamChat(call, { rest, calls: dependencies.calls, onInternalError: (error) => dependencies.onInternalError('Chat', error) }),
    WatchServers: (call: ServerWritableStream<{ types?: string[] }, Json>) => watchServers(call, { rest, calls: dependencies.calls, onInternalError: (error) => dependencies.onInternalError('WatchServers', error) }),
    Generate: unary('Generate', async (request: GenerateRequest, context) => {
      const body = defined({ prompt: request.prompt ?? '', system: request.system, max_tokens: request.max_tokens, temperature: request.temperature });
      return (await post(context, `${modelPath(request.model)}/generate`, body)).body;
    }),
    Embed: unary('Embed', async (request: EmbedRequest, context) => {
      const answer = await post(context, '/v1/embeddings', defined({ model: request.model ?? '', input: request.input ?? [], dimensions: request.dimensions }));
      return { ...answer.body, server: serverOf(answer.headers) };
    }),
    Rerank: unary('Rerank', async (request: RerankRequest, context) => {
      const answer = await post(context, '/v1/rerank', defined({ model: request.model ?? '', query: request.query ?? '', documents: request.documents ?? [], top_n: request.top_n, return_documents: request.return_documents }));
      return { ...answer.body, server: serverOf(answer.headers) };
    }),
    ListModels: unary('ListModels', async (_request: Json, context) => get(context, '/api/v1/models/status')),
    GetModelStatus: unary('GetModelStatus', async (request: ModelRequest, context) => get(context, `${modelPath(request.model)}/status`)),
    StoreVector: unary('StoreVector', async (request: StoreVectorRequest, context) => {
      const items = request.items ?? [];
      const texts = request.texts ?? [];
      // Both, or neither: REST says what is wrong with it.
      const body = items.length > 0 ? { ...(texts.length > 0 ? { texts } : {}), items: items.map(toRestItem) } : { texts };
      return (await post(context, `${modelPath(request.model)}/vectors/store`, body)).body;
    }),
    SearchVectors: unary('SearchVectors', async (request: SearchVectorsRequest, context) => {
      const vector = request.vector ?? [];
      const body = defined({ query: request.query, vector: vector.length > 0 ? vector : undefined, top_k: request.top_k, filter: fromProtoStruct(request.filter) });
      const answer = (await post(context, `${modelPath(request.model)}/vectors/search`, body)).body;
      const hits = Array.isArray(answer['data']) ? (answer['data'] as Json[]) : [];
      return { data: hits.map((hit) => ({ ...hit, metadata: toProtoStruct(hit['metadata']) })) };
    }),
  };
}

/** `/api/v1/models/{model}`: the name as one path segment (`org/model`, `llama3:8b`). */
function modelPath(model: string | undefined): string {
  if (model === undefined || model.trim() === '') throw new FrontDoorError('`model` is required.');
  return `/api/v1/models/${encodeURIComponent(model)}`;
}

function toRestItem(item: VectorItem): Json {
  const vector = item.vector ?? [];
  return defined({ id: item.id, text: item.text, vector: vector.length > 0 ? vector : undefined, metadata: fromProtoStruct(item.metadata) });
}

/** The model server that answered, from the header REST sets on every inference answer. */
function serverOf(headers: OutgoingHttpHeaders): string | undefined {
  const value = headers['x-switchyard-server'];
  return typeof value === 'string' ? value : undefined;
}

function defined(values: Json): Json {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined && value !== null));
}
