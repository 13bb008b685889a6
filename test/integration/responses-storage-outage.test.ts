import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { startOwnPostgres, type OwnPostgres } from '../support/own-postgres.ts';
import { waitFor } from '../support/wait-for.ts';

// PostgreSQL dies (immediate stop: a crash) while clients hold conversations
// through the Responses API: answers keep coming, stored responses stay
// readable and continuable from memory, and reach storage once it is back.
let database: OwnPostgres;
let gateway: TestGateway;
let vllm: OpenAIFake;
let client: OpenAI;

beforeAll(async () => {
  database = await startOwnPostgres();
  [gateway, vllm] = await Promise.all([startTestGateway({ env: { DATABASE_URL: database.url, SWITCHYARD_USAGE_FLUSH_MS: '50' } }), startOpenAIFake({ flavor: 'vllm' })]);
  expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu', base_url: vllm.url })).status).toBe(201);
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await vllm?.stop();
  await database?.destroy();
});

const storedRows = async () => Number((await gateway.gateway.database.db.selectFrom('stored_responses').select((eb) => eb.fn.countAll().as('count')).executeTakeFirstOrThrow()).count);

describe('stored responses through a PostgreSQL outage', () => {
  it('keeps answering and continuing conversations, and writes them once PostgreSQL is back', async () => {
    const before = await client.responses.create({ model: 'yi34b', input: 'my name is Ada' });
    await waitFor(async () => (await storedRows()) === 1, 'the first response to be written');
    await database.stop('immediate');
    try {
      const during = await client.responses.create({ model: 'yi34b', input: 'what is my name?', previous_response_id: before.id });
      expect(during.status).toBe('completed');
      const sent = [...vllm.requests].reverse().find((request) => request.path === '/v1/chat/completions')?.body as { messages: unknown[] };
      expect(sent.messages).toHaveLength(3);
      // Written behind: readable and continuable from memory while storage is down.
      expect((await client.responses.retrieve(during.id)).id).toBe(during.id);
      const next = await client.responses.create({ model: 'yi34b', input: 'and again?', previous_response_id: during.id });
      expect(next.status).toBe('completed');
    } finally {
      await database.start();
    }
    await waitFor(async () => (await storedRows().catch(() => 0)) === 3, 'the responses made during the outage to be written', 30_000);
  });
});
