/**
 * Environment variables and the setting each one sets. The first name listed
 * for a setting wins when several are set (SWITCHYARD_PORT over PORT).
 */
export const environmentVariables: ReadonlyArray<{ names: string[]; path: string[] }> = [
  { names: ['SWITCHYARD_PORT', 'PORT'], path: ['port'] },
  { names: ['SWITCHYARD_HOST', 'HOST'], path: ['host'] },
  { names: ['SWITCHYARD_DATA_DIR'], path: ['data_dir'] },
  { names: ['DATABASE_URL', 'SWITCHYARD_DATABASE_URL'], path: ['database_url'] },
  { names: ['REDIS_URL', 'SWITCHYARD_REDIS_URL'], path: ['redis_url'] },
  { names: ['SWITCHYARD_CONFIG'], path: ['config_file'] },
  { names: ['SWITCHYARD_DISCOVER_LOCAL_OLLAMA'], path: ['discover_local_ollama'] },
  { names: ['SWITCHYARD_LOCAL_OLLAMA_URL'], path: ['local_ollama_url'] },
  { names: ['SWITCHYARD_ADMIN_KEY'], path: ['admin_key'] },
  { names: ['SWITCHYARD_SECRET_KEY'], path: ['secret_key'] },
  { names: ['SWITCHYARD_LOG_LEVEL', 'LOG_LEVEL'], path: ['log_level'] },
  { names: ['SWITCHYARD_ADMIN_BODY_LIMIT_BYTES'], path: ['admin_body_limit_bytes'] },
  { names: ['SWITCHYARD_HEALTH_INTERVAL_S'], path: ['health', 'interval_s'] },
  { names: ['SWITCHYARD_HEALTH_TIMEOUT_MS'], path: ['health', 'timeout_ms'] },
  { names: ['SWITCHYARD_HEALTH_FAILURES_TO_OFFLINE'], path: ['health', 'failures_to_offline'] },
  { names: ['SWITCHYARD_HEALTH_CONCURRENCY'], path: ['health', 'concurrency'] },
  { names: ['SWITCHYARD_HEALTH_HISTORY_RETENTION_HOURS'], path: ['health', 'history_retention_hours'] },
];
