import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

// Three prefix-caching vLLM fakes serving one model behind a route under prefix-affinity.
let gateway: TestGateway;
let fakes: OpenAIFake[];
const names = ['gpu-1', 'gpu-2', 'gpu-3'];

beforeAll(async () => {
  [gateway, ...fakes] = await Promise.all([
    startTestGateway(),
    ...names.map(() => startOpenAIFake({ flavor: 'vllm', models: [{ id: 'llama-70b' }], behaviour: { capacity: { slots: 4, prefixCacheBlocks: 10_000 } } })),
  ]);
  for (const [index, fake] of fakes.entries()) {
    expect((await gateway.api('POST', '/api/v1/model-servers', { name: names[index], server_type: 'vllm', base_url: fake.url })).status).toBe(201);
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  expect((await gateway.api('POST', '/api/v1/routes', { name: 'chat', strategy: 'prefix-affinity', targets: [{ model: 'llama-70b' }] })).status).toBe(201);
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ...fakes.map((fake) => fake.stop())]);
});

const system = { role: 'system' as const, content: 'You are the support assistant of a hardware shop. Answer in two sentences at most.' };

/** Sends one conversation's turns in order through the official client; answers which fake each turn reached and the reasons given. */
async function converse(client: OpenAI, topic: string, turns: number, between?: (turn: number, reached: readonly string[]) => Promise<void>) {
  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [system, { role: 'user', content: `My ${topic} makes a clicking noise. What should I check first?` }];
  const reached: string[] = [];
  const reasons: string[] = [];
  for (let turn = 0; turn < turns; turn++) {
    await between?.(turn, reached);
    const { data, response } = await client.chat.completions.create({ model: 'chat', messages }).withResponse();
    reasons.push(response.headers.get('x-switchyard-reason') ?? '');
    reached.push(response.headers.get('x-switchyard-server') ?? '');
    messages.push({ role: 'assistant', content: data.choices[0]?.message.content ?? '' }, { role: 'user', content: `Thanks. And after that, step ${turn + 2}?` });
  }
  return { reached, reasons };
}

async function affinityCount(result: string): Promise<number> {
  const match = new RegExp(`^llm_prefix_affinity_total\\{result="${result}"\\} (\\d+)$`, 'm').exec((await gateway.api('GET', '/metrics')).text);
  return match === null ? 0 : Number(match[1]);
}

describe('prefix-affinity routing', () => {
  it('keeps each conversation on one server, spreads conversations, and says why in x-switchyard-reason', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
    const hitsBefore = await affinityCount('hit');
    // One after another, so no server is ever over its load bound here (spilling is covered in test/unit/prefix-affinity.test.ts).
    const conversations = [];
    for (const topic of ['laptop', 'printer', 'router', 'monitor', 'keyboard', 'speaker']) conversations.push(await converse(client, topic, 6));
    for (const { reached, reasons } of conversations) {
      expect(new Set(reached).size).toBe(1);
      expect(reasons[0]).toMatch(/^prefix-affinity: new prefix \(\d+ blocks\), placed on gpu-\d by hash$/);
      // From the second turn on, what the first turn sent is found in the table.
      for (const reason of reasons.slice(1)) expect(reason).toMatch(new RegExp(`^prefix-affinity: (\\d+) of (\\d+) blocks matched on ${reached[0]}$`));
    }
    expect(new Set(conversations.map(({ reached }) => reached[0])).size).toBeGreaterThan(1);
    expect((await affinityCount('hit')) - hitsBefore).toBe(6 * 5);
    // Where the conversations went, the servers' prefix caches found their earlier turns.
    const hits = fakes.reduce((sum, fake) => sum + (fake.capacityReadings()?.prefixHits ?? 0), 0);
    expect(hits).toBeGreaterThan(0);
  });

  it('is the default for a chat model with two or more deployments; SWITCHYARD_ROUTING_STRATEGY or a route\'s strategy overrides it', async () => {
    const ask = async (target: TestGateway, model: string) => {
      const response = await fetch(`${target.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [system, { role: 'user', content: 'Which cable do I need for a 4K monitor?' }] }) });
      await response.text();
      return response.headers.get('x-switchyard-reason');
    };
    // No route, no setting: the model's three servers are chosen by prefix.
    expect(await ask(gateway, 'llama-70b')).toMatch(/^prefix-affinity: /);
    await gateway.gateway.usage.flush({ force: true });
    const recorded = await gateway.gateway.database.db.selectFrom('usage_records').select(['strategy']).where('requested_model', '=', 'llama-70b').execute();
    expect(recorded.map((row) => row.strategy)).toContain('prefix-affinity');
    // A route that names its strategy keeps it.
    expect((await gateway.api('POST', '/api/v1/routes', { name: 'spread', strategy: 'least-inflight', targets: [{ model: 'llama-70b' }] })).status).toBe(201);
    expect(await ask(gateway, 'spread')).toBeNull();
    // A gateway told its default keeps it for every model.
    const told = await startTestGateway({ env: { SWITCHYARD_ROUTING_STRATEGY: 'least-inflight' } });
    try {
      for (const [index, fake] of fakes.entries()) await told.api('POST', '/api/v1/model-servers', { name: names[index], server_type: 'vllm', base_url: fake.url });
      await told.api('POST', '/api/v1/model-servers/health-check-all');
      expect(await ask(told, 'llama-70b')).toBeNull();
    } finally {
      await told.stop();
    }
  });

  it('moves a conversation to another server when its server dies, and stays there', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
    // Before its fourth turn, the server that had the conversation stops (the gateway has not noticed yet).
    const { reached, reasons } = await converse(client, 'graphics card', 5, async (turn, sofar) => {
      if (turn === 3) await fakes[names.indexOf(sofar[0] ?? '')]?.stop();
    });
    expect(new Set(reached.slice(0, 3)).size).toBe(1);
    expect(reached[3]).not.toBe(reached[0]);
    expect(reached[4]).toBe(reached[3]);
    expect(reasons[3]).toMatch(new RegExp(`matched on ${reached[0]}, which is unavailable; least-loaded ${reached[3]}$`));
  });
});
