// Shared base for the fake model servers: a real node:http server on
// 127.0.0.1 with request recording, scripted latency and faults, and a
// stop/restart lifecycle that keeps the same port.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ChunkStream, StreamClosedError } from './fake-stream.ts';
import type { Framing } from './fake-stream.ts';
import { BodyTooLargeError, defaultReply, parseBody, readBody, sleep } from './fake-util.ts';
import type { ReplyScript } from './fake-util.ts';
import { CapacityModel, promptOf, takesSlot, type CapacityReadings, type FakeCapacity } from './fake-capacity.ts';

export * from './fake-util.ts';
export * from './fake-stream.ts';

export type Fault =
  | { kind: 'none' }
  | { kind: 'refuse' }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'hang' }
  | { kind: 'garbage' }
  | { kind: 'drop-mid-stream'; afterChunks: number }
  | { kind: 'malformed-chunk'; afterChunks: number }
  /** Streams: after `afterChunks` good chunks, one event (or NDJSON line) that never ends, until the client hangs up. */
  | { kind: 'endless-event'; afterChunks: number }
  /** Streams: sends the 200 and its headers, then nothing until the client hangs up. */
  | { kind: 'hang-after-headers' };

export interface FakeBehaviour {
  /** Delay before response headers. */
  latencyMs: number;
  /** Delay between stream chunks. */
  tokenIntervalMs: number;
  fault: Fault;
  /** If set, the fault applies only to these path prefixes (not to `refuse`). */
  faultPaths?: string[];
  /** Slots, queueing inside the server and a prefix cache, as real engines have (see fake-capacity.ts); unset: unlimited. */
  capacity?: FakeCapacity;
}

export interface RecordedRequest {
  method: string;
  /** Path including the query string. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, raw string when not JSON, undefined when empty. */
  body: unknown;
  /** True if the client disconnected before the response finished. */
  aborted: boolean;
}

export interface FakeModel {
  id: string;
  /** e.g. ['completion','tools','vision'], ['embedding'], ['rerank']. Default ['completion']. */
  capabilities?: string[];
  contextLength?: number;
  embeddingDimension?: number;
  family?: string;
  parameterSize?: string;
  /** Listed by Ollama's /api/ps. */
  loaded?: boolean;
  sizeBytes?: number;
  vramBytes?: number;
  /** Ollama: the digest /api/tags reports (a re-pull or upgrade changes it); derived from the name when unset. */
  digest?: string;
  /** vLLM: what /v1/models says it was loaded from (a LoRA adapter's path); the id when unset. */
  root?: string;
  /** vLLM: the base model a LoRA adapter runs on. */
  parent?: string;
}

export const DEFAULT_BEHAVIOUR: FakeBehaviour = { latencyMs: 0, tokenIntervalMs: 2, fault: { kind: 'none' } };
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export function hasCapability(model: FakeModel, capability: string): boolean {
  return (model.capabilities ?? ['completion']).includes(capability);
}

/** Everything a fake's route handler needs for one request. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly record: RecordedRequest;
  /** Aborts when the connection closes (client abort, stop, drop). */
  readonly signal: AbortSignal;
  json(status: number, body: unknown, headers?: Record<string, string>): void;
  text(status: number, text: string, contentType?: string, headers?: Record<string, string>): void;
  /** Sends 200 with streaming headers and returns a writer that applies delays and stream faults. */
  stream(framing: Framing, headers?: Record<string, string>): ChunkStream;
}

export abstract class FakeServer {
  url = '';
  port = 0;
  readonly requests: RecordedRequest[] = [];
  protected behaviour: FakeBehaviour;
  protected models: FakeModel[];
  /** Content type of JSON responses (servers differ slightly). */
  protected jsonContentType = 'application/json';
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly inflight = new Set<ServerResponse>();
  private readonly serverClosed = new WeakSet<ServerResponse>();
  private stopped = false;
  private transition: Promise<void> = Promise.resolve();
  private replyScript: ReplyScript | undefined;
  /** Kept across behaviour changes that do not touch `capacity`: its queue and cache are the server's state. */
  protected capacityModel: CapacityModel | null = null;

  constructor(models: FakeModel[], behaviour?: Partial<FakeBehaviour>) {
    this.models = models.map((m) => ({ ...m }));
    this.behaviour = { ...DEFAULT_BEHAVIOUR, ...behaviour };
    this.capacityModel = this.behaviour.capacity === undefined ? null : new CapacityModel(this.behaviour.capacity);
    this.server = createServer((req, res) => void this.onRequest(req, res));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Routes one request; called after recording, latency and non-stream faults. */
  protected abstract handle(ctx: RequestContext): Promise<void>;

  /** The protocol's error body for a status (used by `status` faults without a body, 413, 500). */
  protected abstract errorBody(status: number, message: string, path: string): unknown;

  /** Binds 127.0.0.1 on an ephemeral port (or the refuse fault keeps it closed after binding once). */
  async start(): Promise<this> {
    await this.listen(0);
    await this.enqueue();
    return this;
  }

  getBehaviour(): FakeBehaviour {
    return { ...this.behaviour };
  }

  /** Merges behaviour; resolves once a refuse fault change has taken effect on the socket. */
  setBehaviour(partial: Partial<FakeBehaviour>): Promise<void> {
    this.behaviour = { ...this.behaviour, ...partial };
    if ('capacity' in partial) this.capacityModel = partial.capacity === undefined ? null : new CapacityModel(partial.capacity);
    return this.enqueue();
  }

  setFault(fault: Fault, paths?: string[]): Promise<void> {
    return this.setBehaviour({ fault, faultPaths: paths });
  }

  clearFault(): Promise<void> {
    return this.setBehaviour({ fault: { kind: 'none' }, faultPaths: undefined });
  }

  /** Running, waiting, the most ever running, prefix-cache hits and lookups; null without a capacity model. */
  capacityReadings(): CapacityReadings | null {
    return this.capacityModel?.readings() ?? null;
  }

  /** Peaks measured from now on (see CapacityModel.resetPeaks); the prefix cache and its counters stay, as a server's would. */
  resetCapacityPeaks(): void {
    this.capacityModel?.resetPeaks();
  }

  getModels(): FakeModel[] {
    return this.models.map((m) => ({ ...m }));
  }

  setModels(models: FakeModel[]): void {
    this.models = models.map((m) => ({ ...m }));
  }

  /** Overrides generated text (string, or function of model and prompt); undefined restores the default. */
  setReply(script: ReplyScript | undefined): void {
    this.replyScript = script;
  }

  /** Closes the listener and destroys every open socket, so the port refuses connections. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.enqueue();
  }

  /** Listens again on the same port after stop(). */
  restart(): Promise<void> {
    this.stopped = false;
    return this.enqueue();
  }

  abortedCount(): number {
    return this.requests.filter((r) => r.aborted).length;
  }

  resetRequests(): void {
    this.requests.length = 0;
  }

  /** Requests currently being answered. */
  inflightCount(): number {
    return this.inflight.size;
  }

  protected replyFor(model: string, prompt: string): string {
    const script = this.replyScript;
    if (script === undefined) return defaultReply(model, prompt);
    return typeof script === 'string' ? script : script({ model, prompt });
  }

  protected findModel(id: string): FakeModel | undefined {
    return this.models.find((m) => m.id === id);
  }

  private enqueue(): Promise<void> {
    this.transition = this.transition.then(() => this.reconcile());
    return this.transition;
  }

  private async reconcile(): Promise<void> {
    const wanted = !this.stopped && this.behaviour.fault.kind !== 'refuse';
    if (wanted && !this.server.listening) await this.listen(this.port);
    if (!wanted && this.server.listening) await this.close();
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', onError);
        const address = this.server.address();
        if (address !== null && typeof address === 'object') {
          this.port = address.port;
          this.url = `http://127.0.0.1:${address.port}`;
        }
        resolve();
      });
    });
  }

  private async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      for (const res of this.inflight) this.serverClosed.add(res);
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
    // Let in-process clients observe the closed connections (one poll phase)
    // so a pooled keep-alive socket is not reused after stop()/refuse.
    for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  private activeFault(path: string): Fault {
    const { fault, faultPaths } = this.behaviour;
    if (faultPaths === undefined || faultPaths.length === 0) return fault;
    return faultPaths.some((prefix) => path.startsWith(prefix)) ? fault : { kind: 'none' };
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const controller = new AbortController();
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: { ...req.headers },
      body: undefined,
      aborted: false,
    };
    this.requests.push(record);
    this.inflight.add(res);
    res.on('close', () => {
      this.inflight.delete(res);
      if (!res.writableFinished && !this.serverClosed.has(res)) record.aborted = true;
      controller.abort();
    });
    const ctx = this.context(req, res, url, record, controller.signal);
    try {
      try {
        record.body = parseBody(await readBody(req, MAX_BODY_BYTES));
      } catch (err) {
        if (!(err instanceof BodyTooLargeError)) throw err;
        ctx.json(413, this.errorBody(413, err.message, ctx.path));
        return;
      }
      const fault = this.activeFault(ctx.path);
      await sleep(this.behaviour.latencyMs, controller.signal);
      if (controller.signal.aborted || fault.kind === 'hang') return;
      if (fault.kind === 'status') {
        const body = fault.body ?? this.errorBody(fault.status, `fault injected: status ${fault.status}`, ctx.path);
        ctx.json(fault.status, body, fault.headers);
        return;
      }
      if (fault.kind === 'garbage') {
        ctx.text(200, '<html>oops', 'application/json');
        return;
      }
      const capacity = this.capacityModel;
      if (capacity !== null && takesSlot(ctx.method, ctx.path)) {
        // A client that leaves while queued leaves the queue (and never takes a slot).
        const release = await capacity.admit(controller.signal).catch(() => null);
        if (release === null) return;
        res.once('close', release);
        await sleep(capacity.prefillMs(promptOf(ctx.body)), controller.signal);
        if (controller.signal.aborted) return;
      }
      await this.handle(ctx);
    } catch (err) {
      if (err instanceof StreamClosedError || res.destroyed) return;
      if (res.headersSent) {
        this.serverClosed.add(res);
        res.destroy();
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      ctx.json(500, this.errorBody(500, message, ctx.path));
    }
  }

  private context(req: IncomingMessage, res: ServerResponse, url: URL, record: RecordedRequest, signal: AbortSignal): RequestContext {
    const send = (status: number, payload: string, contentType: string, headers?: Record<string, string>): void => {
      if (res.destroyed || res.headersSent) return;
      res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(payload)), ...headers });
      res.end(payload);
    };
    return {
      req,
      res,
      method: record.method,
      path: url.pathname,
      query: url.searchParams,
      get body(): unknown {
        return record.body;
      },
      record,
      signal,
      json: (status, body, headers) => send(status, JSON.stringify(body), this.jsonContentType, headers),
      text: (status, text, contentType = 'text/plain; charset=utf-8', headers) => send(status, text, contentType, headers),
      stream: (framing, headers) => {
        const contentType = framing === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson';
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
        res.flushHeaders();
        return new ChunkStream(res, {
          framing,
          tokenIntervalMs: this.behaviour.tokenIntervalMs,
          fault: this.activeFault(url.pathname),
          signal,
          drop: () => {
            this.serverClosed.add(res);
            res.socket?.destroy();
          },
        });
      },
    };
  }
}
