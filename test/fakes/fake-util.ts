// Small pure helpers shared by the fake model servers: deterministic embeddings,
// token estimation, reply generation, JSON narrowing, body reading and
// Prometheus text formatting.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Body as a record, or an empty record when the body is not a JSON object. */
export function bodyRecord(body: unknown): JsonRecord {
  return isRecord(body) ? body : {};
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Short random-looking id, e.g. for `chatcmpl-…`. */
export function randomId(length = 24): string {
  let out = '';
  while (out.length < length) out += Math.random().toString(36).slice(2);
  return out.slice(0, length);
}

export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Deterministic embedding: a PRNG seeded from the SHA-256 of the text, values
 * rounded to float32 (as real servers produce), L2-normalised.
 */
export function embedText(text: string, dimension: number): number[] {
  const seed = createHash('sha256').update(text).digest();
  let state = seed.readUInt32LE(0) ^ seed.readUInt32LE(4);
  const next = (): number => {
    // mulberry32
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const raw: number[] = [];
  let norm = 0;
  for (let i = 0; i < dimension; i++) {
    const x = next() * 2 - 1;
    raw.push(x);
    norm += x * x;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return raw.map((x) => Math.fround(x * scale));
}

/**
 * A bag of words: each lower-cased word adds 1 to one dimension chosen by its
 * hash, L2-normalised. Two texts' cosine similarity is then (about) their
 * shared words over the root of the product of their word counts.
 */
export function embedWords(text: string, dimension: number): number[] {
  const vector: number[] = Array.from({ length: dimension }, () => 0);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    const slot = createHash('sha256').update(word).digest().readUInt32LE(0) % dimension;
    vector[slot] = (vector[slot] as number) + 1;
  }
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
  return vector.map((x) => Math.fround(norm > 0 ? x / norm : 0));
}

/** Little-endian float32 base64, as OpenAI's `encoding_format: "base64"`. */
export function float32Base64(values: number[]): string {
  const buf = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf.toString('base64');
}

/** Rough token count: ~4 characters per token, at least 1 for non-empty text. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}

/** Splits text into stream tokens that concatenate back to the text ("Hello", " from", …). */
export function splitTokens(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** Reply override for a fake: fixed text, or computed from model and prompt. */
export type ReplyScript = string | ((input: { model: string; prompt: string }) => string);

export function defaultReply(model: string, prompt: string): string {
  const said = prompt.trim().replace(/\s+/g, ' ');
  const short = said.length > 60 ? `${said.slice(0, 60)}…` : said;
  return `Hello from ${model}: you said ${short.length > 0 ? short : 'nothing'}`;
}

/** Applies a max-token cap to a reply: the tokens to send and why generation stopped. */
export function planTokens(text: string, maxTokens: number | undefined): { tokens: string[]; finish: 'stop' | 'length' } {
  const tokens = splitTokens(text);
  if (maxTokens !== undefined && maxTokens >= 0 && tokens.length > maxTokens) {
    return { tokens: tokens.slice(0, maxTokens), finish: 'length' };
  }
  return { tokens, finish: 'stop' };
}

/** Text of a chat message `content` (string, or OpenAI content parts). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : ''))
    .filter((t) => t.length > 0)
    .join(' ');
}

export interface ChatSummary {
  lastUser: string;
  promptTokens: number;
}

/** Last user message and a prompt-token estimate over all messages. */
export function summariseMessages(messages: unknown[]): ChatSummary {
  let lastUser = '';
  let promptTokens = 0;
  for (const m of messages) {
    if (!isRecord(m)) continue;
    const text = contentText(m.content);
    promptTokens += estimateTokens(text) + 4; // per-message template overhead
    if (m.role === 'user') lastUser = text;
  }
  return { lastUser, promptTokens };
}

/** Lower-case word tokens used by the rerankers. */
export function wordSet(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

/**
 * Deterministic relevance in (0, 1): share of query words found in the document,
 * squashed so no score is exactly 0 or 1. Ties keep input order when sorted stably.
 */
export function overlapScore(query: string, document: string): number {
  const q = wordSet(query);
  if (q.size === 0) return 0.01;
  const d = wordSet(document);
  let hits = 0;
  for (const w of q) if (d.has(w)) hits++;
  return Math.round((0.01 + 0.98 * (hits / q.size)) * 1e6) / 1e6;
}

export class BodyTooLargeError extends Error {}

/** Reads the whole request body as UTF-8, rejecting with BodyTooLargeError past `maxBytes`. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLargeError(`request body exceeds ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Parsed JSON when the text is JSON, the raw text otherwise, undefined when empty. */
export function parseBody(raw: string): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** Waits `ms`, resolving early (without error) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface PromSample {
  /** Sample name when it differs from the family name (e.g. `…_created`). */
  name?: string;
  labels?: Record<string, string>;
  value: number;
}

/**
 * One metric family in Prometheus text exposition format. `pythonFloats` renders
 * integers as `1.0` like prometheus_client (vLLM); otherwise as `1` (llama.cpp, TEI).
 */
export function promFamily(
  name: string,
  type: 'gauge' | 'counter' | 'histogram' | 'summary',
  help: string | undefined,
  samples: PromSample[],
  pythonFloats = false,
): string {
  const lines: string[] = [];
  if (help !== undefined) lines.push(`# HELP ${name} ${help}`);
  lines.push(`# TYPE ${name} ${type}`);
  for (const s of samples) {
    const labels = Object.entries(s.labels ?? {})
      .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
      .join(',');
    const value = pythonFloats && Number.isInteger(s.value) ? s.value.toFixed(1) : String(s.value);
    lines.push(`${s.name ?? name}${labels.length > 0 ? `{${labels}}` : ''} ${value}`);
  }
  return lines.join('\n') + '\n';
}
