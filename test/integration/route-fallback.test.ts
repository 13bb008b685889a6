import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { startVllmFleet, stopVllmFleets } from '../support/vllm-fleet.ts';

let spare: OpenAIFake | null = null;

afterEach(async () => {
  await stopVllmFleets();
  await spare?.stop();
  spare = null;
});

const unavailable = { kind: 'status', status: 503, body: { error: { message: 'overloaded', type: 'ServiceUnavailableError', code: 503 } } } as const;
const generationPaths = ['/v1/chat/completions'];

describe('route fallbacks and the retry budget', () => {
  it('falls back to the next model on every request when the primary model fails before its first byte, whatever the retry budget says', async () => {
    // No retry budget beyond its floor of 3: the old proxy counted the move to the fallback as a retry and answered 503 once it was spent.
    const { gateway, fakes, client } = await startVllmFleet(2, { SWITCHYARD_RETRY_BUDGET_RATIO: '0' });
    spare = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'deepseek', contextLength: 4096 }] });
    expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'spare', server_type: 'vllm', base_url: spare.url })).status).toBe(201);
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    expect((await gateway.api('POST', '/api/v1/routes', { name: 'assistant', targets: ['yi34b'], fallbacks: ['deepseek'] })).status).toBe(201);
    for (const fake of fakes) await fake.setFault(unavailable, generationPaths);

    for (let round = 0; round < 12; round++) {
      const { data, response } = await client.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
      expect(data.choices[0]?.message.content).toContain('Hello from deepseek');
      expect(data.model).toBe('deepseek');
      expect(response.headers.get('x-switchyard-route')).toBe('assistant');
      expect(response.headers.get('x-switchyard-model')).toBe('deepseek');
      expect(response.headers.get('x-switchyard-server')).toBe('spare');
    }
    expect(spare.requests.filter((request) => request.path === '/v1/chat/completions')).toHaveLength(12);
  });

  it('says so when the retry budget, not the lack of another server, stopped a retry', async () => {
    // Two attempts a request: the first server, then a retry on the other.
    const { fakes, client } = await startVllmFleet(2, { SWITCHYARD_RETRY_BUDGET_RATIO: '0', SWITCHYARD_MAX_ATTEMPTS: '2', SWITCHYARD_BREAKER_FAILURE_THRESHOLD: '100' });
    for (const fake of fakes) await fake.setFault(unavailable, generationPaths);
    const answers: Array<{ status: number | undefined; message: string; attempts: string | null }> = [];
    // The budget's floor lets 3 retries through in its window; the fourth request's retry is refused.
    for (let round = 0; round < 4; round++) {
      const error = (await client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
      expect(error).toBeInstanceOf(OpenAI.APIError);
      answers.push({ status: error.status, message: error.message, attempts: error.headers?.get('x-switchyard-attempts') ?? null });
    }
    for (const answer of answers.slice(0, 3)) {
      expect(answer).toMatchObject({ status: 503, attempts: '2' });
      expect(answer.message).not.toMatch(/retry budget/);
    }
    expect(answers[3]).toMatchObject({ status: 503, attempts: '1', message: expect.stringMatching(/HTTP 503\. The gateway's retry budget is exhausted .*so the request was not retried\.$/) });
  });
});
