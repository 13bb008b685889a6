import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, startTeiFake, type OpenAIFake, type TeiFake } from '../fakes/index.ts';
import { LLAMACPP_SLOTS } from '../fakes/openai-flavors.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitUntil } from '../support/wait-until.ts';

let gateway: TestGateway;
let llamacpp: OpenAIFake;
let vllm: OpenAIFake;
let tei: TeiFake;
// A vLLM server with two slots (max_num_seqs 2), registered without max_concurrency: the gateway must learn it.
const slots = 2;
let learner: OpenAIFake;

beforeAll(async () => {
  [gateway, llamacpp, vllm, tei, learner] = await Promise.all([
    startTestGateway(),
    startOpenAIFake({ flavor: 'llamacpp', models: [{ id: 'local-llm' }] }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'big-llm' }] }),
    startTeiFake({ modelId: 'bge', dimension: 8 }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'learn-llm' }], behaviour: { tokenIntervalMs: 20, capacity: { slots } } }),
  ]);
  for (const body of [
    { name: 'laptop', server_type: 'llamacpp', base_url: llamacpp.url },
    { name: 'gpu', server_type: 'vllm', base_url: vllm.url },
    { name: 'embedder', server_type: 'embedding', base_url: tei.url },
    { name: 'gpu-learning', server_type: 'vllm', base_url: learner.url },
  ]) expect((await gateway.api('POST', '/api/v1/model-servers', body)).status).toBe(201);
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await Promise.all([gateway.stop(), llamacpp.stop(), vllm.stop(), tei.stop(), learner.stop()]);
});

async function capacities(): Promise<Record<string, number>> {
  const text = (await gateway.api('GET', '/metrics')).text;
  return Object.fromEntries([...text.matchAll(/^llm_deployment_capacity\{server="([^"]+)",model="([^"]+)"\} (\d+)$/gm)].map((match) => [`${match[1]}/${match[2]}`, Number(match[3])]));
}

describe('each deployment\'s capacity', () => {
  it('is learned from what servers report (llama.cpp slots, TEI permits) and unknown where they report none', async () => {
    const teiPermits = ((await (await fetch(`${tei.url}/info`)).json()) as { max_concurrent_requests: number }).max_concurrent_requests;
    expect(await capacities()).toEqual({ 'laptop/local-llm': LLAMACPP_SLOTS, 'embedder/bge': teiPermits });
    expect((await gateway.api('GET', '/api/v1/models/local-llm/status')).body.deployments[0].capacity_source).toBe('reported');
    const status = (await gateway.api('GET', '/api/v1/models/local-llm/status')).body;
    expect(status.deployments[0]).toMatchObject({ server: 'laptop', capacity: LLAMACPP_SLOTS });
    expect((await gateway.api('GET', '/api/v1/models/big-llm/status')).body.deployments[0].capacity).toBeNull();
  });

  it('takes the server\'s stated max_concurrency over what it reports, and learns again once it is cleared', async () => {
    const servers = (await gateway.api('GET', '/api/v1/model-servers')).body.data as Array<{ id: string; name: string }>;
    const idOf = (name: string) => servers.find((server) => server.name === name)?.id as string;
    await gateway.api('PUT', `/api/v1/model-servers/${idOf('gpu')}`, { max_concurrency: 6 });
    await gateway.api('PUT', `/api/v1/model-servers/${idOf('laptop')}`, { max_concurrency: 2 });
    expect(await capacities()).toMatchObject({ 'gpu/big-llm': 6, 'laptop/local-llm': 2 });
    await gateway.api('PUT', `/api/v1/model-servers/${idOf('laptop')}`, { max_concurrency: null });
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    expect((await capacities())['laptop/local-llm']).toBe(LLAMACPP_SLOTS);
  });
});

function chat(model: string, signal?: AbortSignal): Promise<Response> {
  const body = { model, stream: true, max_tokens: 8, messages: [{ role: 'user', content: 'how many can you run?' }] };
  return fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body), ...(signal === undefined ? {} : { signal }) });
}

describe('a vLLM deployment\'s capacity, learned (vLLM does not report max_num_seqs)', () => {
  it('becomes the running count seen while requests waited inside the server, and admission then holds the server to it', async () => {
    expect((await capacities())['gpu-learning/learn-llm']).toBeUndefined();
    // Overload it briefly: with no capacity known every request goes through, and the two beyond its slots wait inside it.
    await learner.setFault({ kind: 'hang-after-headers' }, ['/v1/chat/completions']);
    const leaving = new AbortController();
    const overload = Array.from({ length: slots * 2 }, () => chat('learn-llm', leaving.signal).catch(() => null));
    await waitUntil(() => learner.capacityReadings()?.running === slots && learner.capacityReadings()?.waiting === slots, { what: 'the server to be full with requests waiting' });
    // Two probes must see it full (one could catch a scheduler held back by something else).
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    expect((await capacities())['gpu-learning/learn-llm']).toBeUndefined();
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    expect((await capacities())['gpu-learning/learn-llm']).toBe(slots);
    const status = (await gateway.api('GET', '/api/v1/models/learn-llm/status')).body.deployments[0];
    expect(status).toMatchObject({ server: 'gpu-learning', capacity: slots, capacity_source: 'learned' });
    leaving.abort();
    for (const response of await Promise.all(overload)) await response?.body?.cancel().catch(() => undefined);
    await waitUntil(() => learner.capacityReadings()?.running === 0 && learner.capacityReadings()?.waiting === 0, { what: 'the overload to be gone' });

    // Now three times its slots: the gateway queues what the server cannot run, and nothing waits inside the server.
    await learner.clearFault();
    learner.resetCapacityPeaks();
    const answers = await Promise.all(Array.from({ length: slots * 3 }, () => chat('learn-llm').then(async (response) => ({ status: response.status, text: await response.text() }))));
    expect(answers.every((answer) => answer.status === 200 && answer.text.includes('[DONE]'))).toBe(true);
    expect(learner.capacityReadings()).toMatchObject({ maxRunning: slots, maxWaiting: 0 });
    // Still learned, not lost with the load of a probe that saw the server idle.
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    expect((await capacities())['gpu-learning/learn-llm']).toBe(slots);
  });

  it('is forgotten when the server is moved to another URL (what was learned was the old one\'s)', async () => {
    const servers = (await gateway.api('GET', '/api/v1/model-servers')).body.data as Array<{ id: string; name: string }>;
    const id = servers.find((server) => server.name === 'gpu-learning')?.id as string;
    expect((await capacities())['gpu-learning/learn-llm']).toBe(slots);
    expect((await gateway.api('PUT', `/api/v1/model-servers/${id}`, { base_url: learner.url.replace('127.0.0.1', 'localhost') })).status).toBe(200);
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    expect((await capacities())['gpu-learning/learn-llm']).toBeUndefined();
  });
});
