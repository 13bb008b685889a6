import OpenAI from 'openai';
import { expect } from 'vitest';
import { startOpenAIFake, type FakeModel, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from './gateway-harness.ts';

export interface VllmFleet {
  gateway: TestGateway;
  fakes: OpenAIFake[];
  client: OpenAI;
}

const yi34b: FakeModel[] = [{ id: 'yi34b', contextLength: 4096 }];
const running: Array<() => Promise<void>> = [];

/** A gateway with `count` vLLM fakes serving `models` (yi34b unless told), checked once. Stop with `stopVllmFleets` in `afterEach`. */
export async function startVllmFleet(count: number, env: Record<string, string> = {}, models: FakeModel[] = yi34b): Promise<VllmFleet> {
  const fakes = await Promise.all(Array.from({ length: count }, () => startOpenAIFake({ flavor: 'vllm', models })));
  // These fleets test failover and spreading by asking one prompt again and again: under the default for chat
  // (prefix affinity) that prompt would always go to the same server, so they route by least in-flight.
  const gateway = await startTestGateway({ env: { SWITCHYARD_RETRY_BASE_DELAY_MS: '5', SWITCHYARD_ROUTING_STRATEGY: 'least-inflight', ...env } });
  running.push(async () => {
    await gateway.stop();
    await Promise.all(fakes.map((fake) => fake.stop()));
  });
  for (const [index, fake] of fakes.entries()) {
    expect((await gateway.api('POST', '/api/v1/model-servers', { name: `gpu-${index}`, server_type: 'vllm', base_url: fake.url })).status).toBe(201);
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  return { gateway, fakes, client: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 }) };
}

/** Stops every fleet started since the last call, newest first. */
export async function stopVllmFleets(): Promise<void> {
  for (const stop of running.splice(0).reverse()) await stop();
}
