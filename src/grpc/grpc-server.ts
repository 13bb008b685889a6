import type { Server as HttpServer } from 'node:http';
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { InternalRest } from '../http/internal/internal-rest.ts';
import { toPortError } from '../http/assert-port-free.ts';
import { CallTracker } from './grpc-call.ts';
import { loadModelService, modelServiceName } from './model-service-definition.ts';
import { modelServiceHandlers } from './model-service.ts';
import { canonicalDescriptors } from './reflection-descriptors.ts';
import { shareHttpPort } from './shared-port.ts';

/** The largest message a client may send (a bigger one is refused with RESOURCE_EXHAUSTED, unread). */
export const grpcMaxReceiveBytes = 4 * 1024 * 1024;
/** Calls at once on one connection (HTTP/2 concurrent streams). */
const maxConcurrentStreams = 256;
/** A connection without a call this long is closed (GOAWAY): the client reconnects when it needs to. */
const maxConnectionIdleMs = 5 * 60_000;

export interface GrpcServerOptions {
  app: FastifyInstance;
  /** The gateway's HTTP server: gRPC shares its port. */
  httpServer: HttpServer;
  host: string;
  /** Also bind this port (SWITCHYARD_GRPC_PORT); undefined: the shared port only. */
  port: number | undefined;
  /** How long a new connection on the shared port may take to send its first bytes. */
  firstBytesTimeoutMs: number;
  /** False: the HTTP port speaks HTTP/1.1 only (SWITCHYARD_GRPC_SHARED_PORT=false); gRPC then needs `port`. */
  sharePort: boolean;
  log: Logger;
}

export interface GrpcGateway {
  /** The extra port bound (SWITCHYARD_GRPC_PORT), or null. */
  port: number | null;
  /** Calls in flight. */
  readonly inFlight: number;
  /**
   * Stops taking calls, lets those in flight finish within `graceMs`, then
   * ends the rest (UNAVAILABLE) and closes every connection.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * gateway.ModelService with server reflection, on the gateway's own port
 * (recognised by the HTTP/2 preface) and optionally on a port of its own.
 */
export async function startGrpcGateway(options: GrpcServerOptions): Promise<GrpcGateway> {
  const definition = loadModelService();
  const server = new Server({
    'grpc.max_receive_message_length': grpcMaxReceiveBytes,
    'grpc.max_concurrent_streams': maxConcurrentStreams,
    'grpc.max_connection_idle_ms': maxConnectionIdleMs,
  });
  const calls = new CallTracker();
  const rest = new InternalRest(options.app);
  server.addService(definition[modelServiceName] as ServiceDefinition, modelServiceHandlers({
    rest,
    calls,
    onInternalError: (method, error) => options.log.error({ grpc_method: method, err: error instanceof Error ? error.message : 'unknown' }, 'a gRPC call failed inside the gateway'),
  }));
  // grpcurl and other tools list and describe the service without the proto file.
  new ReflectionService(canonicalDescriptors(definition)).addToServer(server);

  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const shared = options.sharePort ? shareHttpPort(options.httpServer, (socket) => injector.injectConnection(socket), { firstBytesTimeoutMs: options.firstBytesTimeoutMs }) : null;
  let port: number | null = null;
  if (options.port !== undefined) {
    const address = options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
    try {
      port = await new Promise<number>((resolve, reject) => server.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error))));
    } catch (error) {
      shared?.close();
      server.forceShutdown();
      throw toPortError(portErrorOf(error), options.host, options.port, 'grpc_port');
    }
  }

  let closing: Promise<void> | null = null;
  return {
    port,
    get inFlight() {
      return calls.size;
    },
    close: (graceMs) => {
      closing ??= (async () => {
        shared?.close();
        const finished = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        let timer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
          timer.unref();
        });
        // Streams that never end by themselves (WatchServers) end now; unary calls and chats get the grace period.
        calls.endWatches();
        await Promise.race([finished, graceOver]);
        clearTimeout(timer);
        calls.abortAll();
        server.forceShutdown();
      })();
      return closing;
    },
  };
}

/** grpc-js reports a bind failure as a message; the errno code is in it. */
function portErrorOf(error: unknown): unknown {
  const message = error instanceof Error ? error.message : String(error);
  const code = /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL)\b/.exec(message)?.[1];
  return code === undefined ? error : Object.assign(new Error(message), { code });
}
