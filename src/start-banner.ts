import type { Config } from './config/config-schema.ts';
import type { Gateway } from './gateway.ts';

/**
 * Tells a new user, in words, where Switchyard listens and how to get in.
 * A generated admin key is shown here once; it is never logged.
 */
export function printBanner(gateway: Gateway, config: Config, out: NodeJS.WritableStream = process.stdout): void {
  const port = new URL(gateway.url).port;
  const reachable = config.host === '0.0.0.0' || config.host === '::' ? `http://localhost:${port}` : gateway.url;
  const lines = [
    '',
    `Switchyard is listening on ${config.host}:${port} (try ${reachable}/health)`,
    `Storage: ${gateway.database.dialect} at ${gateway.database.location}`,
    `Fleet: ${gateway.registry.list().length} model server(s) registered`,
    `Console: ${reachable}/ui  ·  OpenAI-compatible API: ${reachable}/v1`,
    `Also: GraphQL ${reachable}/graphql  ·  WebSocket ${reachable.replace(/^http/, 'ws')}/ws/chat  ·  gRPC gateway.ModelService on ${config.grpc_shared_port ? `port ${port}` : 'SWITCHYARD_GRPC_PORT only'}${gateway.grpc.port === null ? '' : ` and port ${gateway.grpc.port}`}`,
  ];
  if (gateway.keys.source === 'generated') {
    lines.push(
      '',
      'An admin API key was generated for this installation. It is shown ONCE; store it now:',
      '',
      `    ${gateway.keys.generatedKey}`,
      '',
      'Send it as "Authorization: Bearer <key>". To choose your own, set SWITCHYARD_ADMIN_KEY.',
    );
  } else if (gateway.keys.source === 'SWITCHYARD_ADMIN_KEY') {
    lines.push('Admin API: send "Authorization: Bearer <the key in SWITCHYARD_ADMIN_KEY>".');
  } else {
    lines.push('Admin API: send "Authorization: Bearer <your admin key>" (generated on first start, or set SWITCHYARD_ADMIN_KEY).');
  }
  lines.push(`Try: curl -H "Authorization: Bearer $KEY" ${reachable}/api/v1/model-servers`, '');
  out.write(`${lines.join('\n')}\n`);
}
