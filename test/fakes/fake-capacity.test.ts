import { afterEach, describe, expect, it } from 'vitest';
import { CapacityModel } from './fake-capacity.ts';
import type { FakeServer } from './fake-server.ts';
import { startOllamaFake } from './ollama-fake.ts';
import { startOpenAIFake } from './openai-fake.ts';
import { waitUntil } from '../support/wait-until.ts';

const fakes: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.stop()));
});

const chatBody = (content: string) => JSON.stringify({ model: 'yi34b', stream: true, messages: [{ role: 'user', content }] });

describe('fakes with a real engine\'s capacity', () => {
  it('never generates more than their slots at once; the rest wait inside, in order, and all are answered', async () => {
    const fake = await startOpenAIFake({ flavor: 'vllm', behaviour: { tokenIntervalMs: 20, capacity: { slots: 2 } } });
    fakes.push(fake);
    const answers = Array.from({ length: 6 }, (_, index) => fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chatBody(`request ${index}`) }).then((response) => response.text()));
    await waitUntil(() => fake.capacityReadings()?.waiting === 4, { what: 'four requests to wait inside the fake' });
    // vLLM's own gauges say so too.
    const metrics = await (await fetch(`${fake.url}/metrics`)).text();
    expect(metrics).toMatch(/vllm:num_requests_running\{[^}]*\} 2\b/);
    expect(metrics).toMatch(/vllm:num_requests_waiting\{[^}]*\} 4\b/);
    const bodies = await Promise.all(answers);
    expect(bodies.every((body) => body.includes('[DONE]'))).toBe(true);
    expect(fake.capacityReadings()).toMatchObject({ running: 0, waiting: 0, maxRunning: 2 });
  });

  it('drops a request from its queue when the client leaves, and never runs it', async () => {
    const fake = await startOllamaFake({ behaviour: { tokenIntervalMs: 50, capacity: { slots: 1 } } });
    fakes.push(fake);
    const first = fetch(`${fake.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'mixtral', messages: [{ role: 'user', content: 'a long one' }] }) }).then((response) => response.text());
    await waitUntil(() => fake.capacityReadings()?.running === 1, { what: 'the first request to run' });
    const leaving = new AbortController();
    const second = fetch(`${fake.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'mixtral', messages: [{ role: 'user', content: 'never mind' }] }), signal: leaving.signal }).catch(() => 'left');
    await waitUntil(() => fake.capacityReadings()?.waiting === 1, { what: 'the second request to queue' });
    leaving.abort();
    expect(await second).toBe('left');
    await waitUntil(() => fake.capacityReadings()?.waiting === 0, { what: 'the queue to empty' });
    await first;
    expect(fake.capacityReadings()).toMatchObject({ running: 0, maxRunning: 1 });
  });

  it('counts prefix-cache hits as a conversation grows, and vLLM reports them', async () => {
    const fake = await startOpenAIFake({ flavor: 'vllm', behaviour: { capacity: { slots: 4, blockChars: 16, prefixCacheBlocks: 1_000 } } });
    fakes.push(fake);
    const turn = (messages: Array<{ role: string; content: string }>) => fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'yi34b', messages }) }).then((response) => response.json());
    const first = [{ role: 'user', content: 'tell me about the history of the printing press in some detail' }];
    await turn(first);
    const afterFirst = fake.capacityReadings();
    expect(afterFirst?.prefixHits).toBe(0);
    await turn([...first, { role: 'assistant', content: 'it began in Mainz' }, { role: 'user', content: 'and then?' }]);
    const afterSecond = fake.capacityReadings();
    // The second turn starts with the first: every block of it is a hit.
    expect((afterSecond?.prefixHits ?? 0) - (afterFirst?.prefixHits ?? 0)).toBe(afterFirst?.prefixQueries);
    const metrics = await (await fetch(`${fake.url}/metrics`)).text();
    expect(metrics).toContain(`vllm:prefix_cache_hits_total{engine="0",model_name="yi34b"} ${afterSecond?.prefixHits}`);
  });
});

describe('the capacity model', () => {
  it('charges prompt processing only for the blocks the prefix cache has not seen, and forgets the least recently used', () => {
    const model = new CapacityModel({ slots: 1, blockChars: 4, prefillMsPerBlock: 10, prefixCacheBlocks: 4 });
    expect(model.prefillMs('aaaabbbb')).toBe(20);
    expect(model.prefillMs('aaaabbbbcccc')).toBe(10);
    // A different start shares nothing, even with the same later blocks (blocks are hashed as a chain).
    expect(model.prefillMs('zzzzbbbb')).toBe(20);
    // The cache holds 4 blocks: 'aaaa…' was pushed out by the 5 blocks seen since.
    expect(model.prefillMs('aaaabbbb')).toBe(20);
  });
});
