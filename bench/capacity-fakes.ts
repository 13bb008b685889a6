// Capacity-limited vLLM fakes for the benchmarks (test/fakes, with slots, a
// queue inside and an optional prefix cache), in their own process so the
// load generator does not steal their timers. Beside them a control port:
//   GET  /readings  each fake's URL and capacity readings (most ever running, waiting, prefix hits)
//   POST /reset     a fresh capacity model on every fake (empty cache, readings zeroed), only when idle
// Started with one JSON argument (CapacityFakesOptions); prints `ready {"fakes":[urls],"control":url}`.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { startOpenAIFake, type FakeCapacity, type OpenAIFake } from '../test/fakes/index.ts';

export interface CapacityFakesOptions {
  count: number;
  model: string;
  capacity: FakeCapacity;
  /** Delay between streamed tokens, ms. */
  tokenIntervalMs: number;
  /** Words in each answer (0: the fakes' default answer); the words depend on the prompt, so each turn's answer differs. */
  replyWords: number;
}

const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike', 'november', 'oscar', 'papa'];

function replyOf(prompt: string, count: number): string {
  const digest = createHash('sha256').update(prompt).digest();
  return Array.from({ length: count }, (_, index) => words[(digest[index % digest.length] as number) % words.length]).join(' ');
}

async function main(options: CapacityFakesOptions): Promise<void> {
  const fakes: OpenAIFake[] = await Promise.all(
    Array.from({ length: options.count }, () =>
      startOpenAIFake({ flavor: 'vllm', models: [{ id: options.model, contextLength: 32_768 }], behaviour: { capacity: options.capacity, tokenIntervalMs: options.tokenIntervalMs } }),
    ),
  );
  if (options.replyWords > 0) for (const fake of fakes) fake.setReply(({ prompt }) => replyOf(prompt, options.replyWords));
  const control = createServer((request, response) => {
    const answer = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    };
    if (request.method === 'GET' && request.url === '/readings') return answer(200, fakes.map((fake) => ({ url: fake.url, readings: fake.capacityReadings() })));
    if (request.method === 'POST' && request.url === '/reset') {
      // Replacing the model under a running request would forget its slot.
      if (fakes.some((fake) => (fake.capacityReadings()?.running ?? 0) > 0 || (fake.capacityReadings()?.waiting ?? 0) > 0)) return answer(409, { error: 'busy' });
      for (const fake of fakes) fake.resetRequests();
      void Promise.all(fakes.map((fake) => fake.setBehaviour({ capacity: options.capacity }))).then(() => answer(200, { reset: fakes.length }));
      return;
    }
    answer(404, { error: 'not found' });
  });
  control.listen(0, '127.0.0.1', () => {
    const address = control.address();
    if (address === null || typeof address !== 'object') throw new Error('the control port has no address');
    process.stdout.write(`ready ${JSON.stringify({ fakes: fakes.map((fake) => fake.url), control: `http://127.0.0.1:${address.port}` })}\n`);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) await main(JSON.parse(process.argv[2] ?? '{}') as CapacityFakesOptions);
