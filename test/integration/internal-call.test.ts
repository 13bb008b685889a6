import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTeiFake, type TeiFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { DirectEmbedder } from '../../src/data/embeddings/direct-embedder.ts';
import { AppError } from '../../src/errors/app-error.ts';

let gateway: TestGateway;
let first: TeiFake;
let second: TeiFake;

beforeAll(async () => {
  [gateway, first, second] = await Promise.all([startTestGateway(), startTeiFake({ modelId: 'general', dimension: 384 }), startTeiFake({ modelId: 'general', dimension: 384 })]);
  for (const [name, fake] of [['tei-a', first], ['tei-b', second]] as const) {
    expect((await gateway.api('POST', '/api/v1/model-servers', { name, base_url: fake.url })).status).toBe(201);
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await Promise.all([gateway.stop(), first.stop(), second.stop()]);
});

describe("the gateway's own calls through the data plane", () => {
  it('embeds through routing and says which deployment answered', async () => {
    const embedder = new DirectEmbedder(gateway.gateway.proxy);
    const result = await embedder.embed({ model: 'general', inputs: ['one', 'two', 'three'], requestId: 'internal-1', keyId: null, recorded: false });
    expect(result.vectors).toHaveLength(3);
    expect(result.dimension).toBe(384);
    expect(result.servedModel).toBe('general');
    expect(['tei-a', 'tei-b']).toContain(result.serverName);
  });

  it('never asks an excluded deployment, and reports each deployment it asks', async () => {
    const asked: string[] = [];
    const first = await gateway.gateway.proxy.callJson({ operation: 'embeddings', body: { input: 'x' }, modelName: 'general', requestId: 'internal-2', onAttempt: (deployment) => asked.push(deployment.key) });
    const second = await gateway.gateway.proxy.callJson({ operation: 'embeddings', body: { input: 'x' }, modelName: 'general', requestId: 'internal-3', exclude: new Set([first.deployment.key]), onAttempt: (deployment) => asked.push(deployment.key) });
    expect(second.deployment.key).not.toBe(first.deployment.key);
    expect(asked).toEqual([first.deployment.key, second.deployment.key]);
  });

  it('throws the error a client would have been answered with', async () => {
    const call = gateway.gateway.proxy.callJson({ operation: 'embeddings', body: { input: 'x' }, modelName: 'no-such-model', requestId: 'internal-4' });
    await expect(call).rejects.toBeInstanceOf(AppError);
    await expect(call).rejects.toMatchObject({ code: 'model_not_found', status: 404 });
  });

  it('gives up when its signal aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(gateway.gateway.proxy.callJson({ operation: 'embeddings', body: { input: 'x' }, modelName: 'general', requestId: 'internal-5', signal: controller.signal })).rejects.toMatchObject({ code: 'SY_CLIENT_DISCONNECTED' });
  });
});
