import { afterEach, describe, expect, it } from 'vitest';
import { embedText } from './fake-util.ts';
import { startTeiFake } from './tei-fake.ts';
import type { TeiFake, TeiFakeOptions } from './tei-fake.ts';
import { postJson } from './wire-readers.ts';
import { waitFor } from '../support/wait-for.ts';

const fakes: TeiFake[] = [];
async function start(options: TeiFakeOptions = {}): Promise<TeiFake> {
  const fake = await startTeiFake(options);
  fakes.push(fake);
  return fake;
}
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

describe('TEI embedder', () => {
  it('GET /info describes the model without stating the dimension', async () => {
    const fake = await start();
    const info = (await (await fetch(`${fake.url}/info`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({
      model_id: 'general',
      model_sha: null,
      model_dtype: 'float16',
      model_type: { embedding: { pooling: 'mean' } },
      max_concurrent_requests: 512,
      max_input_length: 512,
      max_batch_tokens: 16384,
      max_batch_requests: null,
      max_client_batch_size: 32,
      auto_truncate: false,
      tokenization_workers: 2,
      version: '1.8.0',
    });
    expect(info).toHaveProperty('sha');
    expect(info).toHaveProperty('docker_label');
    expect(Object.values(info)).not.toContain(384);
    expect(Object.keys(info).filter((k) => /dim|hidden|embedding/.test(k))).toEqual([]);
  });

  it('POST /embed returns a bare array of normalised vectors (string or list input)', async () => {
    const fake = await start();
    const many = (await (await postJson(`${fake.url}/embed`, { inputs: ['a', 'b'] })).json()) as number[][];
    expect(many).toHaveLength(2);
    expect(many[0]).toHaveLength(384);
    expect(many[0]).toEqual(embedText('a', 384));
    expect(await (await postJson(`${fake.url}/embed`, { inputs: 'a' })).json()).toEqual([many[0]]);
    const raw = (await (await postJson(`${fake.url}/embed`, { inputs: 'a', normalize: false })).json()) as number[][];
    expect(Math.hypot(...(raw[0] ?? []))).toBeGreaterThan(2);
  });

  it('rejects too-long input (413 Validation) unless truncate, and empty input (400)', async () => {
    const fake = await start({ maxInputLength: 16 });
    const long = 'word '.repeat(40);
    const res = await postJson(`${fake.url}/embed`, { inputs: long });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: string; error_type: string };
    expect(body.error_type).toBe('Validation');
    expect(body.error).toMatch(/must have less than 16 tokens/);
    expect((await postJson(`${fake.url}/embed`, { inputs: long, truncate: true })).status).toBe(200);
    const empty = await postJson(`${fake.url}/embed`, { inputs: [] });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ error_type: 'Empty' });
  });

  it('reports its configured batch limits on /info and refuses like TEI above them (413 Validation, 429 Overloaded)', async () => {
    const fake = await start({ maxClientBatchSize: 4, maxBatchTokens: 2048, maxConcurrentRequests: 1 });
    const info = (await (await fetch(`${fake.url}/info`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ max_client_batch_size: 4, max_batch_tokens: 2048, max_concurrent_requests: 1 });
    expect((await postJson(`${fake.url}/embed`, { inputs: ['a', 'b', 'c', 'd'] })).status).toBe(200);
    const tooMany = await postJson(`${fake.url}/embed`, { inputs: ['a', 'b', 'c', 'd', 'e'] });
    expect(tooMany.status).toBe(413);
    expect(await tooMany.json()).toEqual({ error: 'Input validation error: batch size 5 > maximum allowed batch size 4', error_type: 'Validation' });
    const release = fake.pauseInference();
    const first = postJson(`${fake.url}/embed`, { inputs: 'a' });
    await waitFor(() => fake.permitsInUse() === 1, 'the first request to hold the only permit');
    const refused = await postJson(`${fake.url}/embed`, { inputs: 'b' });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ error: 'Model is overloaded', error_type: 'Overloaded' });
    release();
    expect((await first).status).toBe(200);
  });

  it('POST /rerank on an embedder → 424 Backend error', async () => {
    const fake = await start();
    const res = await postJson(`${fake.url}/rerank`, { query: 'q', texts: ['a'] });
    expect(res.status).toBe(424);
    expect(await res.json()).toEqual({ error: 'Backend error: model is not a re-ranker model', error_type: 'Backend' });
  });

  it('POST /v1/embeddings is OpenAI compatible', async () => {
    const fake = await start({ dimension: 8 });
    const body = (await (await postJson(`${fake.url}/v1/embeddings`, { input: ['x'], model: 'tei' })).json()) as { data: { embedding: number[] }[] };
    expect(body).toMatchObject({ object: 'list', model: 'tei', data: [{ object: 'embedding', index: 0 }], usage: { prompt_tokens: 1, total_tokens: 1 } });
    expect(body.data[0]?.embedding).toEqual(embedText('x', 8));
  });

  it('GET /health and /metrics', async () => {
    const fake = await start();
    expect((await fetch(`${fake.url}/health`)).status).toBe(200);
    await postJson(`${fake.url}/embed`, { inputs: 'a' });
    fake.setLoad({ queueSize: 3, batchSize: 2 });
    const text = await (await fetch(`${fake.url}/metrics`)).text();
    expect(text).toContain('# TYPE te_request_count counter');
    expect(text).toContain('te_request_count{method="embed"} 1');
    expect(text).toContain('te_queue_size 3');
    expect(text).toContain('te_batch_current_size 2');
  });
});

describe('TEI reranker', () => {
  it('reports the reranker model type and ranks texts by score', async () => {
    const fake = await start({ kind: 'reranker', modelId: 'BAAI/bge-reranker-base' });
    const info = (await (await fetch(`${fake.url}/info`)).json()) as Record<string, unknown>;
    expect(info.model_type).toEqual({ reranker: { id2label: { '0': 'LABEL_0' }, label2id: { LABEL_0: 0 } } });
    const texts = ['bananas are yellow', 'the capital of france is paris', 'paris france'];
    const ranked = (await (await postJson(`${fake.url}/rerank`, { query: 'capital of France', texts, return_text: true })).json()) as { index: number; score: number; text?: string }[];
    expect(ranked.map((r) => r.index)).toEqual([1, 2, 0]);
    expect(ranked[0]?.text).toBe(texts[1]);
    expect(ranked[0]?.score).toBeGreaterThan(ranked[1]?.score ?? 1);
    expect(ranked.every((r) => r.score > 0 && r.score < 1)).toBe(true);
    const raw = (await (await postJson(`${fake.url}/rerank`, { query: 'capital of France', texts, raw_scores: true })).json()) as { score: number; text?: string }[];
    expect(raw.some((r) => r.score < 0)).toBe(true);
    expect(raw[0]?.text).toBeUndefined();
  });

  it('POST /embed on a reranker → 424', async () => {
    const fake = await start({ kind: 'reranker' });
    const res = await postJson(`${fake.url}/embed`, { inputs: 'a' });
    expect(res.status).toBe(424);
    expect(await res.json()).toMatchObject({ error_type: 'Backend' });
  });
});
