import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import { request, type Dispatcher } from 'undici';
import { generateApiKey } from '../../auth/api-key-hash.ts';
import { unlimited, type KeyRing } from '../../auth/key-ring.ts';
import { sortableId } from '../../lib/sortable-id.ts';
import type { DatabaseSchema } from '../../storage/database-schema.ts';
import { readJson } from '../../storage/json-column.ts';
import { percentile } from './usage-statistics.ts';

export interface BenchmarkOptions {
  prompts: string[];
  max_tokens: number;
  runs: number;
  concurrency: number;
}

export interface BenchmarkRun {
  ok: boolean;
  status: number;
  server: string | null;
  latency_ms: number;
  ttft_ms: number | null;
  completion_tokens: number;
  tokens_per_second: number | null;
  error?: string;
}

export interface BenchmarkSummary {
  runs: number;
  succeeded: number;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
  p50_ttft_ms: number | null;
  mean_tokens_per_second: number | null;
}

/** Benchmark runs use a key of their own, made for the run; usage records carry its id. */
const benchmarkKeyPrefix = 'benchmark-';

export function isBenchmarkKey(keyId: string): boolean {
  return keyId.startsWith(benchmarkKeyPrefix);
}

const defaultPrompts = ['Explain in two sentences why the sky is blue.', 'Write a haiku about a train yard.', 'List three prime numbers and say why they are prime.'];

/**
 * Really measures a model: sends requests through Switchyard's own /v1 (so
 * routing, retries and the chosen server are all in the picture), streaming
 * where it can to time the first token, with a key that exists only for the run.
 */
export class ModelBenchmarker {
  readonly #db: Kysely<DatabaseSchema>;
  readonly #keyRing: KeyRing;
  readonly #dispatcher: Dispatcher;
  readonly #selfUrl: () => string;

  constructor(options: { db: Kysely<DatabaseSchema>; keyRing: KeyRing; dispatcher: Dispatcher; selfUrl: () => string }) {
    this.#db = options.db;
    this.#keyRing = options.keyRing;
    this.#dispatcher = options.dispatcher;
    this.#selfUrl = options.selfUrl;
  }

  async run(model: string, kind: 'chat' | 'embeddings', input: Partial<BenchmarkOptions>) {
    const options: BenchmarkOptions = {
      prompts: input.prompts ?? defaultPrompts,
      max_tokens: input.max_tokens ?? 64,
      runs: input.runs ?? 3,
      concurrency: input.concurrency ?? 1,
    };
    const keyId = `${benchmarkKeyPrefix}${sortableId()}`;
    const key = generateApiKey();
    this.#keyRing.add(this.#keyRing.hash(key), unlimited(keyId, 'benchmark', ['inference']));
    const runs: BenchmarkRun[] = [];
    try {
      let next = 0;
      const worker = async () => {
        while (next < options.runs) {
          const index = next++;
          const prompt = options.prompts[index % options.prompts.length] as string;
          runs[index] = kind === 'chat' ? await this.#chat(key, model, prompt, options.max_tokens) : await this.#embed(key, model, prompt);
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.concurrency, options.runs) }, worker));
    } finally {
      this.#keyRing.removeKey(keyId);
    }
    const summary = summarizeRuns(runs);
    const id = sortableId();
    const createdAt = new Date().toISOString();
    await this.#db.insertInto('model_benchmarks').values({ id, model, created_at: createdAt, options: JSON.stringify(options), summary: JSON.stringify(summary), runs: JSON.stringify(runs) }).execute();
    return { id, model, created_at: createdAt, options, summary, runs };
  }

  /** One model's benchmarks, newest first (the version history attributes each to the version then served). */
  async history(model: string): Promise<Array<{ created_at: string; summary: BenchmarkSummary }>> {
    const rows = await this.#db.selectFrom('model_benchmarks').select(['created_at', 'summary']).where('model', '=', model).orderBy('created_at', 'desc').limit(100).execute();
    return rows.map((row) => ({ created_at: row.created_at, summary: readJson<BenchmarkSummary>(row.summary, summarizeRuns([])) }));
  }

  /** The newest benchmark of every model. */
  async latest(): Promise<Map<string, { created_at: string; summary: BenchmarkSummary }>> {
    const rows = await this.#db.selectFrom('model_benchmarks').select(['model', 'created_at', 'summary']).orderBy('created_at', 'desc').limit(5_000).execute();
    const latest = new Map<string, { created_at: string; summary: BenchmarkSummary }>();
    for (const row of rows) if (!latest.has(row.model)) latest.set(row.model, { created_at: row.created_at, summary: readJson<BenchmarkSummary>(row.summary, summarizeRuns([])) });
    return latest;
  }

  async #chat(key: string, model: string, prompt: string, maxTokens: number): Promise<BenchmarkRun> {
    const started = performance.now();
    try {
      const response = await request(`${this.#selfUrl()}/v1/chat/completions`, {
        method: 'POST',
        dispatcher: this.#dispatcher,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } }),
      });
      let ttft: number | null = null;
      let events = 0;
      let text = '';
      for await (const chunk of response.body) {
        ttft ??= performance.now() - started;
        const part = chunk.toString('utf8');
        events += part.split('\ndata: ').length - 1 + (part.startsWith('data: ') ? 1 : 0);
        text = (text + part).slice(-4_096);
      }
      const latency = performance.now() - started;
      const reported = /"completion_tokens"\s*:\s*(\d+)/.exec(text.slice(text.lastIndexOf('"usage"')));
      const tokens = reported === null ? Math.max(0, events - 2) : Number(reported[1]);
      const ok = response.statusCode === 200 && !text.includes('data: {"error"');
      const server = response.headers['x-switchyard-server'];
      return {
        ok,
        status: response.statusCode,
        server: typeof server === 'string' ? server : null,
        latency_ms: round(latency),
        ttft_ms: ttft === null ? null : round(ttft),
        completion_tokens: tokens,
        tokens_per_second: ttft !== null && latency > ttft && tokens > 0 ? round((tokens * 1000) / (latency - ttft)) : null,
        ...(ok ? {} : { error: text.slice(0, 300) }),
      };
    } catch (error) {
      return { ok: false, status: 0, server: null, latency_ms: round(performance.now() - started), ttft_ms: null, completion_tokens: 0, tokens_per_second: null, error: error instanceof Error ? error.message : 'failed' };
    }
  }

  async #embed(key: string, model: string, prompt: string): Promise<BenchmarkRun> {
    const started = performance.now();
    const response = await request(`${this.#selfUrl()}/v1/embeddings`, {
      method: 'POST',
      dispatcher: this.#dispatcher,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, input: prompt, encoding_format: 'float' }),
    });
    const text = await response.body.text();
    const latency = round(performance.now() - started);
    const server = response.headers['x-switchyard-server'];
    const ok = response.statusCode === 200;
    return { ok, status: response.statusCode, server: typeof server === 'string' ? server : null, latency_ms: latency, ttft_ms: latency, completion_tokens: 0, tokens_per_second: null, ...(ok ? {} : { error: text.slice(0, 300) }) };
  }
}

function summarizeRuns(runs: readonly BenchmarkRun[]): BenchmarkSummary {
  const good = runs.filter((run) => run.ok);
  const latencies = good.map((run) => run.latency_ms).sort((a, b) => a - b);
  const ttfts = good.map((run) => run.ttft_ms).filter((value): value is number => value !== null).sort((a, b) => a - b);
  const rates = good.map((run) => run.tokens_per_second).filter((value): value is number => value !== null);
  return {
    runs: runs.length,
    succeeded: good.length,
    p50_latency_ms: percentile(latencies, 0.5),
    p95_latency_ms: percentile(latencies, 0.95),
    p50_ttft_ms: percentile(ttfts, 0.5),
    mean_tokens_per_second: rates.length === 0 ? null : round(rates.reduce((sum, rate) => sum + rate, 0) / rates.length),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
