import { createConnection, createServer, type Server } from 'node:net';
import { postgresUrl } from './postgres.ts';

/**
 * The machine's PostgreSQL appearing on `port` (a TCP relay to it): a database
 * that was unreachable there comes up, without touching the shared server.
 */
export async function relayPostgres(port: number): Promise<Server> {
  const target = new URL(postgresUrl);
  const relay = createServer((socket) => {
    const upstream = createConnection(Number(target.port || 5432), target.hostname);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve));
  return relay;
}
