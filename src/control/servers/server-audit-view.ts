import type { ModelServer } from '../../domain/model-server.ts';

/** What the audit log keeps of a server: its settings, never its key (only whether one is set). */
export function serverAuditView(server: ModelServer) {
  return {
    name: server.name,
    server_type: server.serverType,
    kind_config: server.kindConfig,
    base_url: server.baseUrl,
    is_active: server.isActive,
    metadata: server.metadata,
    expected_models: server.expectedModels,
    health_check_interval_s: server.healthCheckIntervalS,
    max_concurrency: server.maxConcurrency,
    has_api_key: server.apiKey !== null,
    managed_by: server.managedBy,
  };
}
