import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';

function writeTemp(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sy-config-')), name);
  writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('starts on port 8000, all interfaces, ./data, local Ollama discovery on, 30 s health interval', () => {
    const { config, fleet } = loadConfig({ env: {} });
    expect(config).toMatchObject({ port: 8000, host: '0.0.0.0', data_dir: './data', discover_local_ollama: true, log_level: 'info' });
    expect(config.health).toMatchObject({ interval_s: 30, failures_to_offline: 3 });
    expect(config.database_url).toBeUndefined();
    expect(fleet).toBeNull();
  });

  it('reads PORT and HOST, with SWITCHYARD_PORT winning over PORT', () => {
    expect(loadConfig({ env: { PORT: '9000', HOST: '127.0.0.1' } }).config).toMatchObject({ port: 9000, host: '127.0.0.1' });
    expect(loadConfig({ env: { PORT: '9000', SWITCHYARD_PORT: '9100' } }).config.port).toBe(9100);
  });

  it('reads booleans, URLs and nested health settings from the environment', () => {
    const { config } = loadConfig({
      env: {
        SWITCHYARD_DISCOVER_LOCAL_OLLAMA: 'false',
        DATABASE_URL: 'postgres://u@h/db',
        REDIS_URL: 'redis://127.0.0.1:6379',
        SWITCHYARD_HEALTH_INTERVAL_S: '5',
      },
    });
    expect(config.discover_local_ollama).toBe(false);
    expect(config.database_url).toBe('postgres://u@h/db');
    expect(config.redis_url).toBe('redis://127.0.0.1:6379');
    expect(config.health.interval_s).toBe(5);
  });

  it('drains for 30 s by default, and takes the shutdown times in seconds (_S) or milliseconds (_MS, which wins)', () => {
    expect(loadConfig({ env: {} }).config).toMatchObject({ shutdown_grace_ms: 30_000, shutdown_delay_ms: 0 });
    expect(loadConfig({ env: { SWITCHYARD_SHUTDOWN_GRACE_S: '45', SWITCHYARD_SHUTDOWN_DELAY_S: '2.5' } }).config).toMatchObject({ shutdown_grace_ms: 45_000, shutdown_delay_ms: 2_500 });
    expect(loadConfig({ env: { SWITCHYARD_SHUTDOWN_GRACE_S: '45', SWITCHYARD_SHUTDOWN_GRACE_MS: '1200' } }).config.shutdown_grace_ms).toBe(1_200);
    expect(() => loadConfig({ env: { SWITCHYARD_SHUTDOWN_GRACE_S: 'soon' } })).toThrow(/SWITCHYARD_SHUTDOWN_GRACE_S/);
    expect(() => loadConfig({ env: { SWITCHYARD_SHUTDOWN_GRACE_S: '-1' } })).toThrow(/SWITCHYARD_SHUTDOWN_GRACE_S/);
  });

  it('fails fast and names the variable that is wrong', () => {
    expect(() => loadConfig({ env: { SWITCHYARD_PORT: 'eighty' } })).toThrow(/SWITCHYARD_PORT/);
    expect(() => loadConfig({ env: { PORT: '70000' } })).toThrow(/PORT/);
    expect(() => loadConfig({ env: { DATABASE_URL: 'mysql://x' } })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ env: { SWITCHYARD_LOG_LEVEL: 'loud' } })).toThrow(/SWITCHYARD_LOG_LEVEL/);
    expect(() => loadConfig({ env: { SWITCHYARD_LOG_FORMAT: 'xml' } })).toThrow(/SWITCHYARD_LOG_FORMAT/);
  });

  it('logs readable lines on a terminal and JSON elsewhere unless told, without Fastify\'s per-request lines', () => {
    expect(loadConfig({ env: {} }).config).toMatchObject({ log_format: 'auto', log_requests: false });
    expect(loadConfig({ env: { SWITCHYARD_LOG_FORMAT: 'json', SWITCHYARD_LOG_REQUESTS: 'true' } }).config).toMatchObject({ log_format: 'json', log_requests: true });
  });

  it('takes settings from the fleet file, with the environment winning', () => {
    const file = writeTemp('fleet.yaml', 'gateway:\n  port: 8100\n  health:\n    interval_s: 10\nservers: []\n');
    expect(loadConfig({ env: {}, configFile: file }).config).toMatchObject({ port: 8100, health: { interval_s: 10 } });
    expect(loadConfig({ env: { SWITCHYARD_PORT: '8200' }, configFile: file }).config.port).toBe(8200);
  });

  it('names the file key when a file setting is wrong or unknown', () => {
    const bad = writeTemp('fleet.yaml', 'gateway:\n  prot: 8100\n');
    expect(() => loadConfig({ env: {}, configFile: bad })).toThrow(/unknown key "prot"/);
  });

  it('says which file it cannot read', () => {
    expect(() => loadConfig({ env: {}, configFile: '/nonexistent/fleet.yaml' })).toThrow(/Cannot read config file \/nonexistent\/fleet.yaml/);
  });

  it('uses SWITCHYARD_CONFIG when no --config is given', () => {
    const file = writeTemp('fleet.yaml', 'servers:\n  - name: a\n    base_url: http://10.0.0.1:11434\n');
    const { fleet, config } = loadConfig({ env: { SWITCHYARD_CONFIG: file } });
    expect(config.config_file).toBe(file);
    expect(fleet?.servers.map((server) => server.name)).toEqual(['a']);
  });
});
