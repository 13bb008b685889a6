import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startOpenAIFake, startTeiFake, type OllamaFake, type OpenAIFake, type TeiFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let ollama: OllamaFake;
let vllm: OpenAIFake;
let tei: TeiFake;
let client: OpenAI;

beforeAll(async () => {
  [gateway, ollama, vllm, tei] = await Promise.all([startTestGateway(), startOllamaFake(), startOpenAIFake({ flavor: 'vllm' }), startTeiFake({ modelId: 'general', dimension: 384 })]);
  for (const body of [
    { name: 'primary', server_type: 'ollama', base_url: ollama.url },
    { name: 'secondary', server_type: 'vllm', base_url: vllm.url },
    { name: 'orchestration', server_type: 'embedding', base_url: tei.url },
  ]) {
    await gateway.api('POST', '/api/v1/model-servers', body);
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop(), vllm.stop(), tei.stop()]);
});

async function auto(model: string, content: string, extra: Record<string, unknown> = {}) {
  const { data, response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
  const field = (data as unknown as { switchyard?: { auto: { model: string; priority: string; reason: string } } }).switchyard;
  return { chosen: response.headers.get('x-switchyard-model'), reason: response.headers.get('x-switchyard-reason'), field };
}

describe('model: "auto"', () => {
  it('answers with the chosen model and a one-line reason, in headers and in a switchyard field', async () => {
    const { chosen, reason, field } = await auto('auto', 'hello');
    expect(chosen).toBeTruthy();
    expect(reason).toMatch(/^auto chose .+: best balance of speed and capability of \d+ chat models/);
    expect(field?.auto).toMatchObject({ priority: 'balanced', reason: expect.any(String) });
    expect(chosen?.startsWith(field?.auto.model as string)).toBe(true);
  });

  it('picks a code model for a question about code', async () => {
    const { chosen, reason } = await auto('auto', 'Why does this python function raise a KeyError?\n```python\ndef f(d): return d["x"]\n```');
    expect(chosen).toBe('deepcoder');
    expect(reason).toMatch(/code model/);
  });

  it('picks a model that supports tools when the request sends tools', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];
    const { chosen } = await auto('auto', 'weather in Paris?', { tools });
    expect(chosen).toBe('mixtral:latest');
  });

  it('picks the most capable model for auto:quality and the body field priority', async () => {
    expect((await auto('auto:quality', 'write an essay')).chosen).toBe('mixtral:latest');
    expect((await auto('auto', 'write an essay', { priority: 'quality' })).chosen).toBe('mixtral:latest');
    // The priority field is Switchyard's: it never reaches the server.
    expect(ollama.requests.at(-1)?.body).not.toHaveProperty('priority');
  });

  it('picks the fastest measured model for auto:speed', async () => {
    await vllm.setBehaviour({ latencyMs: 60 });
    for (const model of ['yi34b', 'deepseek', 'deepcoder', 'imp', 'mixtral', 'hermes', 'openchat', 'phi3']) {
      await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'warm up' }] });
    }
    const { chosen, reason } = await auto('auto:speed', 'quick one');
    expect(['mixtral:latest', 'hermes:latest', 'openchat:latest', 'phi3:latest']).toContain(chosen);
    expect(reason).toMatch(/fastest of \d+ chat models \(time to first byte \d+ ms, \d+ tokens\/s/);
    await vllm.setBehaviour({ latencyMs: 0 });
  });

  it('picks an embedding model for embeddings', async () => {
    const response = await client.embeddings.create({ model: 'auto', input: 'vectorise me', encoding_format: 'float' }).withResponse();
    expect(['general', 'nomic-embed-text:latest']).toContain(response.response.headers.get('x-switchyard-model'));
    expect(response.data.data[0]?.embedding.length).toBeGreaterThan(0);
  });
});
