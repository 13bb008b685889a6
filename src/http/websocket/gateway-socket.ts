import type { FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { hasScope, type KeyRing, type Principal, type Scope } from '../../auth/key-ring.ts';
import type { WebsocketSettings } from '../../config/config-schema.ts';
import type { Caller } from '../internal/internal-rest.ts';
import { presentedKey } from '../plugins/authenticate.ts';

/** Close codes beyond the standard ones, in the 4000 range as RFC 6455 leaves to applications (HTTP status + 4000). */
export const closeCodes = {
  unauthenticated: 4401,
  forbidden: 4403,
  authTimeout: 4408,
  tooManySockets: 4429,
  /** Standard: the peer broke this endpoint's rules. */
  policy: 1008,
  /** Standard: try again later (the client did not read fast enough). */
  tryAgainLater: 1013,
} as const;

/** Open sockets per key, across every /ws endpoint. */
export class SocketCounts {
  readonly #byKey = new Map<string, number>();

  /** Counts one more socket for a key; false (nothing counted) when it already has `limit`. */
  take(keyId: string, limit: number): boolean {
    const open = this.#byKey.get(keyId) ?? 0;
    if (open >= limit) return false;
    this.#byKey.set(keyId, open + 1);
    return true;
  }

  release(keyId: string): void {
    const open = (this.#byKey.get(keyId) ?? 1) - 1;
    if (open <= 0) this.#byKey.delete(keyId);
    else this.#byKey.set(keyId, open);
  }
}

export interface SocketContext {
  keyRing: KeyRing;
  settings: WebsocketSettings;
  counts: SocketCounts;
}

type Message = Record<string, unknown>;

/** Messages held while authentication is settled; a client flooding before it is ready is closed. */
const maxEarlyMessages = 16;

/**
 * One client's socket on a /ws endpoint: who it is (from the upgrade's
 * header or cookie, or a first `{type: "auth", key}` message), a keep-alive
 * ping, a bound on what may queue for it, and its messages as JSON objects
 * (anything else is answered with an error message, the socket kept).
 */
export class GatewaySocket {
  readonly #socket: WebSocket;
  readonly #context: SocketContext;
  readonly #closed = new AbortController();
  #handler: ((message: Message) => void) | null = null;
  readonly #early: Message[] = [];
  #awaitingAuth: ((message: Message) => void) | null = null;

  constructor(socket: WebSocket, context: SocketContext) {
    this.#socket = socket;
    this.#context = context;
    // Listened to at once: a client may send before authentication is settled.
    socket.on('message', (data, isBinary) => this.#receive(data, isBinary));
    socket.on('close', () => this.#closed.abort());
    socket.on('error', () => this.#closed.abort());
    let answered = true;
    socket.on('pong', () => {
      answered = true;
    });
    const keepAlive = setInterval(() => {
      // The previous ping went unanswered: the peer is gone or stuck; end it without a closing handshake.
      if (!answered) return void socket.terminate();
      answered = false;
      socket.ping();
    }, context.settings.ping_interval_ms);
    keepAlive.unref();
    this.#closed.signal.addEventListener('abort', () => clearInterval(keepAlive), { once: true });
  }

  /** Aborted when the socket closes, whoever closed it. */
  get closed(): AbortSignal {
    return this.#closed.signal;
  }

  /**
   * Who is calling, once known and admitted: a principal holding one of
   * `scopes`, counted against its key's socket limit. Null when the socket
   * was closed instead (each refusal closes it with its own code and reason).
   */
  async authenticate(request: FastifyRequest, scopes: readonly Scope[]): Promise<Caller | null> {
    const { keyRing, settings, counts } = this.#context;
    let principal: Principal | null = request.principal;
    let caller: Caller;
    if (principal !== null) {
      // Checked by the upgrade's own hook: the same credentials go on to every REST call.
      const key = presentedKey(request);
      caller = key === null ? { via: 'websocket', cookie: String(request.headers.cookie), ...(request.headers.origin === undefined ? {} : { origin: request.headers.origin }), ...(request.headers.host === undefined ? {} : { host: request.headers.host }) } : { via: 'websocket', authorization: key };
    } else {
      const message = await this.#firstMessage(settings.auth_timeout_ms);
      if (message === null) {
        this.close(closeCodes.authTimeout, `Send {"type": "auth", "key": "…"} within ${settings.auth_timeout_ms} ms.`);
        return null;
      }
      const key = message['type'] === 'auth' && typeof message['key'] === 'string' ? message['key'] : null;
      principal = key === null ? null : keyRing.authenticate(key);
      if (principal === null || key === null) {
        this.close(closeCodes.unauthenticated, key === null ? 'The first message must be {"type": "auth", "key": "…"}.' : 'That key was not accepted.');
        return null;
      }
      if (!scopes.some((scope) => hasScope(principal as Principal, scope))) {
        this.close(closeCodes.forbidden, `This key lacks the "${scopes.join('" or "')}" scope.`);
        return null;
      }
      caller = { via: 'websocket', authorization: key };
    }
    caller.remoteAddress = request.ip;
    const keyId = principal.keyId;
    if (!counts.take(keyId, settings.max_sockets_per_key)) {
      this.close(closeCodes.tooManySockets, `This key has ${settings.max_sockets_per_key} sockets open (SWITCHYARD_WS_MAX_SOCKETS_PER_KEY).`);
      return null;
    }
    this.#closed.signal.addEventListener('abort', () => counts.release(keyId), { once: true });
    if (this.#closed.signal.aborted) return null;
    this.send({ type: 'ready', key: principal.name });
    return caller;
  }

  /** Every message from now on (and those that arrived during authentication). */
  onMessage(handler: (message: Message) => void): void {
    this.#handler = handler;
    for (const message of this.#early.splice(0)) handler(message);
  }

  /**
   * Sends one JSON message. A client that has let more than
   * SWITCHYARD_WS_MAX_BUFFERED_BYTES queue up is closed (1013) instead:
   * a slow reader must not make the gateway hold its stream in memory.
   */
  send(message: Message): boolean {
    if (this.#socket.readyState !== this.#socket.OPEN) return false;
    if (this.#socket.bufferedAmount > this.#context.settings.max_buffered_bytes) {
      this.close(closeCodes.tryAgainLater, 'The client did not read fast enough; reconnect and read the stream.');
      return false;
    }
    this.#socket.send(JSON.stringify(message));
    return true;
  }

  /** An error about one message (the socket stays open). */
  error(code: string, message: string, extra: Message = {}): void {
    this.send({ type: 'error', ...extra, code, message });
  }

  close(code: number, reason: string): void {
    // A close reason is at most 123 bytes.
    if (this.#socket.readyState === this.#socket.OPEN || this.#socket.readyState === this.#socket.CONNECTING) this.#socket.close(code, Buffer.from(reason).subarray(0, 123).toString());
    this.#closed.abort();
  }

  #firstMessage(timeoutMs: number): Promise<Message | null> {
    const early = this.#early.shift();
    if (early !== undefined) return Promise.resolve(early);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(null), timeoutMs);
      const onClose = () => finish(null);
      const finish = (message: Message | null) => {
        clearTimeout(timer);
        this.#closed.signal.removeEventListener('abort', onClose);
        this.#awaitingAuth = null;
        resolve(message);
      };
      this.#closed.signal.addEventListener('abort', onClose, { once: true });
      this.#awaitingAuth = finish;
    });
  }

  #receive(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.error('SY_INVALID_REQUEST', 'Messages are JSON text; binary frames are not accepted.');
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString());
    } catch {
      this.error('SY_INVALID_JSON', 'A message is not valid JSON.');
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      this.error('SY_INVALID_REQUEST', 'A message must be a JSON object.');
      return;
    }
    const message = parsed as Message;
    if (this.#awaitingAuth !== null) this.#awaitingAuth(message);
    else if (this.#handler !== null) this.#handler(message);
    else if (this.#early.length < maxEarlyMessages) this.#early.push(message);
    else this.close(closeCodes.policy, 'Too many messages before the socket was ready.');
  }
}
