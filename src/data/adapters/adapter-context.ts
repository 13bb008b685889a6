import type { ModelServer } from '../../domain/model-server.ts';
import type { UpstreamHttp } from '../upstream/upstream-http.ts';
import type { AdapterContext } from './server-adapter.ts';
import { findServerKind } from './server-kinds.ts';

/** Everything a kind needs to reach one server (its key, its kind's auth headers and settings), with a deadline and a signal. */
export function adapterContextFor(server: ModelServer, http: UpstreamHttp, timeoutMs: number, signal: AbortSignal): AdapterContext {
  const apiKey = server.apiKey?.reveal() ?? null;
  return {
    baseUrl: server.baseUrl,
    apiKey,
    authHeaders: findServerKind(server.serverType)?.authHeaders(apiKey, server) ?? {},
    kindConfig: server.kindConfig,
    http,
    timeoutMs,
    signal,
    flavor: server.detection?.flavor ?? null,
  };
}
