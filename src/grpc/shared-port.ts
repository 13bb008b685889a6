import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** What every HTTP/2 client sends first on a plaintext connection (h2c with prior knowledge, as gRPC does). */
export const http2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface SharedPort {
  /** Connections not yet recognised: each one's first bytes are awaited. */
  readonly undecided: number;
  /** Closes the connections still undecided (a shutdown waits for no silent socket). */
  close(): void;
}

/**
 * Serves HTTP/2 (gRPC) beside HTTP/1.1 on the HTTP server's own port. Each new
 * connection's first bytes decide, once: the HTTP/2 preface goes to
 * `toHttp2`, anything else to Node's HTTP exactly as it would have gone (the
 * bytes read are pushed back first). Nothing else of an HTTP/1.1 connection
 * is looked at: keep-alive requests after the first pass untouched, and the
 * parser still reads the socket natively. A connection that sends nothing
 * within `firstBytesTimeoutMs` is answered and closed as Node answers one
 * that sends no request headers in time (a 408 through the server's
 * `clientError` listener).
 */
export function shareHttpPort(server: Server, toHttp2: (socket: Socket) => void, options: { firstBytesTimeoutMs: number }): SharedPort {
  const listeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  // Node's own, registered when the server was made (first); other listeners (connection limits) stay as they are.
  const toHttp1 = listeners.find((listener) => listener.name === 'connectionListener') ?? listeners[0];
  if (toHttp1 === undefined) throw new Error('The HTTP server has no connection listener to share its port with.');
  const undecided = new Set<Socket>();

  const recognise = (socket: Socket) => {
    let received: Buffer | null = null;
    const settle = () => {
      clearTimeout(timer);
      undecided.delete(socket);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      received = received === null ? chunk : Buffer.concat([received, chunk]);
      const length = Math.min(received.length, http2Preface.length);
      const isHttp2 = received.compare(http2Preface, 0, length, 0, length) === 0;
      // The preface split over several packets: wait for the rest of it (at most 24 bytes).
      if (isHttp2 && received.length < http2Preface.length) return;
      settle();
      socket.pause();
      socket.unshift(received);
      if (isHttp2) {
        toHttp2(socket);
      } else {
        toHttp1.call(server, socket);
        // Node's parser reads what was pushed back before anything new arrives (the resume runs on this tick).
        socket.resume();
      }
    };
    // Until a side takes it, the socket's errors are ours (a reset before the first byte).
    const onError = () => socket.destroy();
    const onEnd = () => socket.destroy();
    const onClose = () => settle();
    const timer = setTimeout(() => {
      settle();
      timedOut(server, socket);
    }, options.firstBytesTimeoutMs);
    timer.unref();
    undecided.add(socket);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.on('close', onClose);
  };

  server.removeListener('connection', toHttp1);
  server.prependListener('connection', recognise);
  return {
    get undecided() {
      return undecided.size;
    },
    close: () => {
      for (const socket of undecided) socket.destroy();
      undecided.clear();
    },
  };
}

/** What Node does when a connection's request head does not arrive in time: the server's clientError listener answers (else a bare 408). */
function timedOut(server: Server, socket: Socket): void {
  if (server.listenerCount('clientError') === 0) {
    socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    socket.destroy();
    return;
  }
  server.emit('clientError', Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
  if (!socket.destroyed) socket.destroy();
}
