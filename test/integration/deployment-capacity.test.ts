import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, startTeiFake, type OpenAIFake, type TeiFake } from '../fakes/index.ts';
import { LLAMACPP_SLOTS } from '../fakes/openai-flavors.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let llamacpp: OpenAIFake;
let vllm: OpenAIFake;
let tei: TeiFake;

beforeAll(async () => {
  [gateway, llamacpp, vllm, tei] = await Promise.all([
    startTestGateway(),
    startOpenAIFake({ flavor: 'llamacpp', models: [{ id: 'local-llm' }] }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'big-llm' }] }),
    startTeiFake({ modelId: 'bge', dimension: 8 }),
  ]);
  for (const body of [
    { name: 'laptop', server_type: 'llamacpp', base_url: llamacpp.url },
    { name: 'gpu', server_type: 'vllm', base_url: vllm.url },
    { name: 'embedder', server_type: 'embedding', base_url: tei.url },
  ]) expect((await gateway.api('POST', '/api/v1/model-servers', body)).status).toBe(201);
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await Promise.all([gateway.stop(), llamacpp.stop(), vllm.stop(), tei.stop()]);
});

async function capacities(): Promise<Record<string, number>> {
  const text = (await gateway.api('GET', '/metrics')).text;
  return Object.fromEntries([...text.matchAll(/^llm_deployment_capacity\{server="([^"]+)",model="([^"]+)"\} (\d+)$/gm)].map((match) => [`${match[1]}/${match[2]}`, Number(match[3])]));
}

describe('each deployment\'s capacity', () => {
  it('is learned from what servers report (llama.cpp slots, TEI permits) and unknown where they report none', async () => {
    const teiPermits = ((await (await fetch(`${tei.url}/info`)).json()) as { max_concurrent_requests: number }).max_concurrent_requests;
    expect(await capacities()).toEqual({ 'laptop/local-llm': LLAMACPP_SLOTS, 'embedder/bge': teiPermits });
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
