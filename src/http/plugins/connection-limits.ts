import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Counter, type Registry } from 'prom-client';

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
}

/**
 * Bounds open client sockets: in all (Node drops what is over `maxConnections`
 * before any byte is read), and per remote address, so one host holding
 * thousands of silent sockets cannot lock every other caller out. The map
 * holds only addresses with open sockets, so it is bounded by the global cap.
 */
export function limitConnections(server: Server, limits: ConnectionLimits, registry: Registry): void {
  const refused = new Counter({
    name: 'http_connections_refused_total',
    help: 'Client connections closed on arrival because a connection limit was reached (per_address or global).',
    labelNames: ['reason'],
    registers: [registry],
  });
  refused.inc({ reason: 'per_address' }, 0);
  refused.inc({ reason: 'global' }, 0);
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => refused.inc({ reason: 'global' }));

  const openByAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) return;
    const open = openByAddress.get(address) ?? 0;
    if (open >= limits.maxConnectionsPerAddress) {
      refused.inc({ reason: 'per_address' });
      socket.destroy();
      return;
    }
    openByAddress.set(address, open + 1);
    socket.once('close', () => {
      const left = (openByAddress.get(address) ?? 1) - 1;
      if (left <= 0) openByAddress.delete(address);
      else openByAddress.set(address, left);
    });
  });
}
