import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOllamaFake, startOpenAIFake, startTeiFake, type FakeServer, type OllamaFake, type OpenAIFake, type TeiFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let ollama: OllamaFake;
let vllm: OpenAIFake;
let generic: OpenAIFake;
let tei: TeiFake;
let teiReranker: TeiFake;
let client: OpenAI;

beforeAll(async () => {
  [gateway, ollama, vllm, generic, tei, teiReranker] = await Promise.all([
    startTestGateway(),
    // `general` is an embedder only Ollama's /api/show says so of: its name guesses nothing.
    startOllamaFake({ models: [{ id: 'general', capabilities: ['embedding'], embeddingDimension: 384 }, { id: 'mixtral', capabilities: ['completion', 'tools'] }] }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'llama3', capabilities: ['completion'] }] }),
    // An OpenAI-compatible server lists models without saying what they do: nothing about them is known.
    startOpenAIFake({ flavor: 'generic', models: [{ id: 'house-model', capabilities: ['completion'] }] }),
    startTeiFake({ modelId: 'bge-small', dimension: 384 }),
    startTeiFake({ kind: 'reranker', modelId: 'bge-reranker-base' }),
  ]);
  for (const body of [
    { name: 'box', base_url: ollama.url },
    { name: 'gpu', base_url: vllm.url },
    { name: 'hosted', server_type: 'openai', base_url: generic.url },
    { name: 'embedder', base_url: tei.url },
    { name: 'ranker', base_url: teiReranker.url },
  ]) {
    const response = await gateway.api('POST', '/api/v1/model-servers', body);
    expect(response.status, response.text).toBe(201);
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop(), vllm.stop(), generic.stop(), tei.stop(), teiReranker.stop()]);
});

beforeEach(() => {
  for (const fake of [ollama, vllm, generic, tei, teiReranker]) fake.resetRequests();
});

const fakes = (): FakeServer[] => [ollama, vllm, generic, tei, teiReranker];
const chat = (model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
const embed = (model: string) => client.embeddings.create({ model, input: 'hello' });
const complete = (model: string) => client.completions.create({ model, prompt: 'Once', max_tokens: 3 });
const rerank = (model: string) =>
  fetch(`${gateway.url}/v1/rerank`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, query: 'q', documents: ['a', 'b'] }),
  });

async function refusal(request: Promise<unknown>): Promise<{ status: number | undefined; error: unknown }> {
  const caught = await request.then(
    () => null,
    (error: unknown) => error,
  );
  expect(caught).toBeInstanceOf(OpenAI.BadRequestError);
  const error = caught as InstanceType<typeof OpenAI.BadRequestError>;
  return { status: error.status, error: error.error };
}

describe('requests a model is known not to serve', () => {
  it.each([
    ['chat to an Ollama embedder', () => chat('general'), '`general` serves embedding only, not chat.'],
    ['embeddings to a vLLM chat model', () => embed('llama3'), '`llama3` serves chat and completion only, not embeddings.'],
    ['chat to a TEI embedder', () => chat('bge-small'), '`bge-small` serves embedding only, not chat.'],
    ['completions to a TEI reranker', () => complete('bge-reranker-base'), '`bge-reranker-base` serves rerank only, not completions.'],
  ])('refuses %s with a 400 naming what it serves, before any server is asked', async (_, send, message) => {
    const { status, error } = await refusal(send());
    expect(status).toBe(400);
    expect(error).toEqual({ message: `The model ${message}`, type: 'invalid_request_error', param: 'model', code: 'SY_UNSUPPORTED_OPERATION' });
    for (const fake of fakes()) expect(fake.requests).toEqual([]);
  });

  it('refuses rerank on an Ollama chat model in the same shape, asking no server', async () => {
    const response = await rerank('mixtral');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe('The model `mixtral` serves chat and completion only, not rerank.');
    for (const fake of fakes()) expect(fake.requests).toEqual([]);
  });

  it('still serves what each model does', async () => {
    expect((await embed('general')).data[0]?.embedding).toHaveLength(384);
    expect((await chat('llama3')).choices[0]?.message.content).toContain('llama3');
    expect((await embed('bge-small')).data).toHaveLength(1);
  });

  it("embeds with an Ollama chat model through /api/embed (Ollama embeds with any model), sized as its /api/show says", async () => {
    const { data } = await embed('mixtral');
    expect(data[0]?.embedding).toHaveLength(4096);
    expect(ollama.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['POST /api/embed']);
    const servers = (await gateway.api('GET', '/api/v1/model-servers')).body.data as Array<{ name: string; id: string }>;
    const box = servers.find((server) => server.name === 'box') as { id: string };
    const models = (await gateway.api('GET', `/api/v1/model-servers/${box.id}/models`)).body.data as Array<{ id: string; capabilities: string[]; embedding_dimension: number | null }>;
    // It stays a chat model (auto-selection never picks it for embeddings); its vectors' size is known for a collection.
    expect(models.find((model) => model.id === 'mixtral:latest')).toMatchObject({ capabilities: ['chat', 'completion', 'tools'], embedding_dimension: 4096 });
  });

  it('forwards a request when the capabilities were only guessed from the name: the server answers for itself', async () => {
    await embed('house-model').catch(() => undefined);
    expect(generic.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['POST /v1/embeddings']);
  });

  it("sends a route's request past a target that cannot serve it to a fallback that can, without an attempt on the target", async () => {
    const created = await gateway.api('POST', '/api/v1/routes', { name: 'anything', targets: ['llama3'], fallbacks: ['general'] });
    expect(created.status, created.text).toBe(201);
    const { data, response } = await client.embeddings.create({ model: 'anything', input: 'hello' }).withResponse();
    expect(data.data[0]?.embedding).toHaveLength(384);
    expect(response.headers.get('x-switchyard-model')).toBe('general:latest');
    expect(response.headers.get('x-switchyard-attempts')).toBe('1');
    expect(ollama.requests.map((request) => request.path)).toEqual(['/api/embed']);
    expect(vllm.requests).toEqual([]);
  });

  it('shows where capabilities come from on each model', async () => {
    const servers = (await gateway.api('GET', '/api/v1/model-servers')).body.data as Array<{ name: string; id: string }>;
    const sources: Record<string, unknown> = {};
    for (const server of servers) {
      const models = (await gateway.api('GET', `/api/v1/model-servers/${server.id}/models`)).body.data as Array<{ id: string; details: Record<string, unknown> }>;
      for (const model of models) sources[model.id] = model.details['capabilities_from'];
    }
    expect(sources).toEqual({ 'general:latest': 'server', 'mixtral:latest': 'server', llama3: 'name', 'house-model': 'name', 'bge-small': 'server', 'bge-reranker-base': 'server' });
  });
});
