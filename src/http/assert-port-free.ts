import { createServer } from 'node:net';
import { ConfigError } from '../config/load-config.ts';

/**
 * The address Switchyard is told to listen on cannot be had. A ConfigError:
 * `switchyard serve` prints it as one line and exits, like any bad setting.
 */
export class PortUnavailableError extends ConfigError {
  constructor(host: string, port: number, code: string, setting: PortSetting = 'port') {
    super(portMessage(host, port, code, setting));
    this.name = 'PortUnavailableError';
  }
}

/**
 * Binds the address once and lets it go, before anything is written: a port
 * that is taken must not leave the fleet file applied to storage behind it.
 * (The real listen comes later and can still lose a race; it reports the same way.)
 */
export async function assertPortFree(host: string, port: number, setting: PortSetting = 'port'): Promise<void> {
  // Port 0 asks the system for any free port: nothing to check.
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) => reject(toPortError(error, host, port, setting)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** The listen error as one line that names the address and the setting to change; other errors pass unchanged. */
export function toPortError(error: unknown, host: string, port: number, setting: PortSetting = 'port'): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' ? new PortUnavailableError(host, port, code, setting) : error;
}

/** The setting that chose the port: the gateway's own, or the extra gRPC one. */
export type PortSetting = 'port' | 'grpc_port';

function portMessage(host: string, port: number, code: string, setting: PortSetting): string {
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const portSetting = setting === 'port' ? 'set `port` (gateway.port in the config file) or SWITCHYARD_PORT' : 'set `grpc_port` (gateway.grpc_port in the config file) or SWITCHYARD_GRPC_PORT';
  switch (code) {
    case 'EADDRINUSE':
      return `cannot listen on ${address}: the port is already in use by another process. Stop that process, or choose a free port: ${portSetting}.`;
    case 'EACCES':
      return `cannot listen on ${address}: permission denied (ports below 1024 need privileges). Choose a port above 1023: ${portSetting}.`;
    default:
      return `cannot listen on ${address}: the address is not available on this machine. Choose an address it has: set \`host\` (gateway.host in the config file) or SWITCHYARD_HOST.`;
  }
}
