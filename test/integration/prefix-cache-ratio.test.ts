import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let vllm: OpenAIFake;
let plain: OpenAIFake;
let serverId: string;

beforeAll(async () => {
  [gateway, vllm, plain] = await Promise.all([
    startTestGateway(),
    // A prefix cache that keeps every block these prompts need.
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'cached-llm' }], behaviour: { capacity: { slots: 4, prefixCacheBlocks: 256 } } }),
    startOpenAIFake({ flavor: 'llamacpp', models: [{ id: 'plain-llm' }] }),
  ]);
  serverId = (await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu-cache', server_type: 'vllm', base_url: vllm.url })).body.id;
  expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'laptop', server_type: 'llamacpp', base_url: plain.url })).status).toBe(201);
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await Promise.all([gateway.stop(), vllm.stop(), plain.stop()]);
});

async function ask(prompt: string): Promise<void> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cached-llm', max_tokens: 4, messages: [{ role: 'user', content: prompt }] }),
  });
  expect(response.status).toBe(200);
  await response.text();
}

async function gaugeOf(server: string): Promise<number | null> {
  const match = new RegExp(`^llm_server_prefix_cache_hit_ratio\\{server="${server}"\\} (\\S+)$`, 'm').exec((await gateway.api('GET', '/metrics')).text);
  return match === null ? null : Number(match[1]);
}

const probe = () => gateway.api('POST', '/api/v1/model-servers/health-check-all');
const recordRatio = async () => (await gateway.api('GET', `/api/v1/model-servers/${serverId}`)).body.load.prefix_cache_hit_ratio as number | null;
const conversation = 'You are a careful assistant. '.repeat(12);

describe('prefix-cache hit ratio per server', () => {
  it('is absent until the server has looked anything up, and for servers that report no prefix cache', async () => {
    expect(await gaugeOf('gpu-cache')).toBeNull();
    expect(await gaugeOf('laptop')).toBeNull();
    expect(await recordRatio()).toBeNull();
  });

  it('is hits over lookups since the server started at the first probe that saw any, in /metrics and on the server record', async () => {
    await ask(conversation);
    await ask(conversation);
    await probe();
    const readings = vllm.capacityReadings();
    if (readings === null) throw new Error('the fake models no capacity');
    // The second ask found the whole prompt in the cache: half of all lookups hit.
    expect(readings.prefixHits * 2).toBe(readings.prefixQueries);
    expect(await gaugeOf('gpu-cache')).toBe(0.5);
    expect(await recordRatio()).toBe(0.5);
    expect(await gaugeOf('laptop')).toBeNull();
  });

  it('then covers only the latest interval, and keeps its value through an interval without lookups', async () => {
    const before = vllm.capacityReadings();
    await ask(`${conversation} And now something else entirely.`);
    await probe();
    const after = vllm.capacityReadings();
    if (before === null || after === null) throw new Error('the fake models no capacity');
    const expected = (after.prefixHits - before.prefixHits) / (after.prefixQueries - before.prefixQueries);
    // The shared opening hit, the new ending did not: neither 0 nor 1, nor the ratio of the totals.
    expect(expected).toBeGreaterThan(0);
    expect(expected).toBeLessThan(1);
    expect(Math.abs(expected - after.prefixHits / after.prefixQueries)).toBeGreaterThan(0.1);
    expect(await gaugeOf('gpu-cache')).toBeCloseTo(expected, 10);
    await probe();
    expect(await gaugeOf('gpu-cache')).toBeCloseTo(expected, 10);
    expect(await recordRatio()).toBeCloseTo(expected, 10);
  });
});
