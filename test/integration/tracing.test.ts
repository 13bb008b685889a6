import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  status?: { code?: number };
}

/** A tiny OTLP/HTTP (JSON) receiver on loopback: what a collector would get. */
let receiver: Server;
let receiverUrl = '';
const spans: OtlpSpan[] = [];
const resources: unknown[] = [];
let gateway: TestGateway;
let fakes: OpenAIFake[];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { resourceSpans: Array<{ resource: unknown; scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
        for (const resourceSpans of body.resourceSpans) {
          resources.push(resourceSpans.resource);
          for (const scope of resourceSpans.scopeSpans) spans.push(...scope.spans);
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  fakes = await Promise.all([0, 1].map(() => startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] })));
  // The trace of a failover is caught by asking one prompt until it reaches the failing server: least in-flight, not prefix affinity.
  gateway = await startTestGateway({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl, OTEL_SERVICE_NAME: 'switchyard-test', SWITCHYARD_OTEL_BATCH_DELAY_MS: '50', SWITCHYARD_RETRY_BASE_DELAY_MS: '1', SWITCHYARD_ROUTING_STRATEGY: 'least-inflight' } });
  for (const [index, fake] of fakes.entries()) await gateway.api('POST', '/api/v1/model-servers', { name: `gpu-${index}`, server_type: 'vllm', base_url: fake.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await gateway.stop();
  await Promise.all(fakes.map((fake) => fake.stop()));
  receiver.close();
});

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((entry) => entry.key === key)?.value;
  return value === undefined ? undefined : Object.values(value)[0];
};

describe('OpenTelemetry traces', () => {
  it('exports a span per request with a child per upstream attempt, and propagates traceparent upstream', async () => {
    const callerTrace = '0af7651916cd43dd8448eb211c80319c';
    await fakes[0]?.setFault({ kind: 'status', status: 500 }, ['/v1/chat/completions']);
    fakes[0]?.resetRequests();
    let requestId = '';
    // Ties break at random: repeat until one request met the failing server first and failed over.
    for (let round = 0; round < 50 && !(fakes[0]?.requests ?? []).some((request) => request.path === '/v1/chat/completions'); round++) {
      requestId = `trace-test-${round}`;
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json', traceparent: `00-${callerTrace}-b7ad6b7169203331-01`, 'x-request-id': requestId },
        body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(response.status).toBe(200);
    }
    await expect.poll(() => spans.some((span) => attribute(span, 'switchyard.request_id') === requestId), { timeout: 3_000 }).toBe(true);
    const root = spans.find((span) => attribute(span, 'switchyard.request_id') === requestId) as OtlpSpan;
    expect(root.traceId).toBe(callerTrace);
    expect(root.parentSpanId).toBe('b7ad6b7169203331');
    expect(attribute(root, 'gen_ai.request.model')).toBe('yi34b');
    expect(attribute(root, 'switchyard.attempts')).toBe(2);
    expect(attribute(root, 'switchyard.server')).toBe('gpu-1');
    const attempts = spans.filter((span) => span.parentSpanId === root.spanId).sort((a, b) => Number(attribute(a, 'switchyard.attempt')) - Number(attribute(b, 'switchyard.attempt')));
    expect(attempts.map((span) => [attribute(span, 'switchyard.server'), attribute(span, 'http.response.status_code'), attribute(span, 'switchyard.retry')])).toEqual([
      ['gpu-0', 500, false],
      ['gpu-1', 200, true],
    ]);
    expect(attempts[0]?.status?.code).toBe(2);
    // Each server saw its own attempt span as parent, in the caller's trace.
    const seenUpstream = [fakes[0], fakes[1]].map((fake) => fake?.requests.filter((request) => request.path === '/v1/chat/completions').at(-1)?.headers['traceparent']);
    expect(seenUpstream[0]).toBe(`00-${callerTrace}-${attempts[0]?.spanId}-01`);
    expect(seenUpstream[1]).toBe(`00-${callerTrace}-${attempts[1]?.spanId}-01`);
    expect(JSON.stringify(resources)).toContain('switchyard-test');
    await fakes[0]?.clearFault();
  });
});
