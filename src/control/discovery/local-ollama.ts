import type { FastifyBaseLogger } from 'fastify';
import type { UpstreamHttp } from '../../data/upstream/upstream-http.ts';
import { isRecord } from '../../data/adapters/shared/wire-values.ts';
import type { ServerRegistry } from '../servers/server-registry.ts';
import { normalizeBaseUrl } from '../servers/server-input.ts';
import { systemActor } from '../../domain/audit.ts';

/**
 * Registers an Ollama on this machine when one answers, so a new user sees
 * their models at once. Quiet when none runs; never registers it twice.
 */
export async function discoverLocalOllama(
  url: string,
  registry: ServerRegistry,
  http: UpstreamHttp,
  log: FastifyBaseLogger,
): Promise<'registered' | 'already-registered' | 'not-found'> {
  const baseUrl = normalizeBaseUrl(url);
  const loopbackTwin = baseUrl.replace('//localhost', '//127.0.0.1');
  if (registry.list().some((server) => server.baseUrl === baseUrl || server.baseUrl === loopbackTwin)) return 'already-registered';
  try {
    const answer = await http.json({ url: `${baseUrl}/api/version`, timeoutMs: 1_500, what: 'GET /api/version' });
    if (!isRecord(answer) || typeof answer['version'] !== 'string') return 'not-found';
  } catch {
    return 'not-found';
  }
  const name = registry.getByName('local-ollama') === undefined ? 'local-ollama' : `local-ollama-${Date.now().toString(36)}`;
  await registry.create({ name, server_type: 'ollama', base_url: baseUrl, managed_by: 'discovery' }, systemActor('discovery'));
  log.info({ base_url: baseUrl, name }, 'found a local Ollama and registered it');
  return 'registered';
}
