import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let ollama: OllamaFake;
let client: OpenAI;

beforeAll(async () => {
  [gateway, ollama] = await Promise.all([
    startTestGateway(),
    startOllamaFake({
      models: [
        { id: 'llama3:8b', capabilities: ['completion', 'tools'], contextLength: 8192, embeddingDimension: 4096 },
        { id: 'org/model:q4', capabilities: ['completion'], contextLength: 4096, embeddingDimension: 2048 },
        { id: 'mixtral', capabilities: ['completion'], contextLength: 32768, embeddingDimension: 4096 },
      ],
    }),
  ]);
  expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'box', server_type: 'ollama', base_url: ollama.url })).status).toBe(201);
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  expect((await gateway.api('POST', '/api/v1/routes', { name: 'gpt-4o', targets: ['llama3:8b'], fallbacks: ['mixtral'] })).status).toBe(201);
  expect((await gateway.api('POST', '/api/v1/routes', { name: 'nowhere', targets: ['not-served:1b'] })).status).toBe(201);
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop()]);
});

const get = async (path: string, key = adminKey) => {
  const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('GET /v1/models/{id} (models.retrieve)', () => {
  it('answers each listed model and route exactly as the list shows it, ids with ":" and "/" included', async () => {
    const listed = (await client.models.list()).data;
    // A route that no server can serve is in neither the list nor retrieve.
    expect(listed.map((model) => model.id).sort()).toEqual(['gpt-4o', 'llama3:8b', 'mixtral:latest', 'org/model:q4']);
    expect((await get('/v1/models/nowhere')).status).toBe(404);
    for (const entry of listed) expect(await client.models.retrieve(entry.id)).toEqual(entry);
    expect(await client.models.retrieve('llama3:8b')).toMatchObject({
      id: 'llama3:8b',
      object: 'model',
      created: expect.any(Number),
      owned_by: 'ollama',
      switchyard: { servers: ['box'], capabilities: expect.arrayContaining(['chat', 'completion']), context_length: 8192 },
    });
  });

  it('takes a slash in the id sent as it is or percent-encoded', async () => {
    const plain = await get('/v1/models/org/model:q4');
    const encoded = await get('/v1/models/org%2Fmodel%3Aq4');
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({ id: 'org/model:q4', object: 'model' });
    expect(encoded).toEqual(plain);
  });

  it('answers an alias with the id the list shows, and a route under its own name', async () => {
    expect(await client.models.retrieve('mixtral')).toMatchObject({ id: 'mixtral:latest', object: 'model' });
    expect(await client.models.retrieve('gpt-4o')).toMatchObject({
      id: 'gpt-4o',
      object: 'model',
      owned_by: 'switchyard',
      switchyard: { servers: ['box'], route: { targets: ['llama3:8b'], fallbacks: ['mixtral'] } },
    });
  });

  it("answers an unknown model 404 model_not_found in OpenAI's error shape, with a suggestion", async () => {
    const error = await client.models.retrieve('llama3:7b').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    const answer = await get('/v1/models/llama3:7b');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({
      error: { message: expect.stringMatching(/`llama3:7b` does not exist.*Did you mean: llama3:8b/), type: 'not_found_error', param: 'model', code: 'model_not_found' },
    });
  });

  it("answers a model outside the key's allow-list exactly like one that does not exist", async () => {
    const key = (await gateway.api('POST', '/api/v1/keys', { name: 'llama-only', scopes: ['inference'], models: ['llama3*'] })).body;
    const limited = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key.key, maxRetries: 0 });
    expect((await limited.models.retrieve('llama3:8b')).id).toBe('llama3:8b');
    const hidden = await get('/v1/models/org%2Fmodel%3Aq4', key.key);
    const missing = await get('/v1/models/no-such%2Fmodel', key.key);
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    const message = (answer: { body: Record<string, unknown> }, name: string) => JSON.stringify(answer.body).replace(name, 'X');
    expect(message(hidden, 'org/model:q4')).toEqual(message(missing, 'no-such/model'));
  });
});
