import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseFleetFile } from '../../src/config/fleet-file.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { readYaml, readYamlDocuments, unknownVariables } from './deploy-files.ts';
import { chartDirectory, chartTemplates } from './helm-chart.ts';
import { ChartRenderer, TemplateError } from './helm-render.ts';
import { describeInstallation, only, selects, validateKubernetesObject } from './kubernetes-objects.ts';

const chart = readYaml(`${chartDirectory}/Chart.yaml`);
const defaults = readYaml(`${chartDirectory}/values.yaml`);
const renderer = new ChartRenderer(chartTemplates());
/** What an install must at least say: the keys and where PostgreSQL and Redis are. */
const required = {
  secrets: { adminKey: 'sy-an-admin-key-for-the-test-0123', secretKey: 'a-passphrase-of-sixteen-or-more' },
  postgresql: { url: 'postgres://switchyard:pw@db.example:5432/switchyard' },
  redis: { url: 'redis://redis.example:6379' },
};

function merged(base: any, over: any): any {
  if (over === null || typeof over !== 'object' || Array.isArray(over) || base === null || typeof base !== 'object' || Array.isArray(base)) return over === undefined ? base : over;
  const result = { ...base };
  for (const [key, value] of Object.entries(over)) result[key] = merged(base[key], value);
  return result;
}

/** `helm template <release> deploy/helm/switchyard` with these values over values.yaml: the objects. */
function render(values: any = {}, release = 'switchyard'): any[] {
  const context = {
    Values: merged(defaults, values),
    Release: { Name: release, Namespace: 'default', Service: 'Helm' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  };
  return [...chartTemplates().keys()]
    .filter((name) => !name.startsWith('_'))
    .flatMap((name) =>
      parseAllDocuments(renderer.render(name, context)).map((document) => {
        if (document.errors.length > 0) throw new Error(`${name}: rendered YAML does not parse: ${document.errors[0]?.message}`);
        return document.toJS() as unknown;
      }),
    )
    .filter((object) => object !== null);
}

describe('deploy/helm/switchyard rendered (a Go-template renderer for the chart in the test, no helm binary here)', () => {
  const objects = render(required);

  it('renders, with the required values, objects valid against the Kubernetes schemas', () => {
    expect(objects.map((object) => object.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Secret', 'Service']);
    for (const object of objects) expect(() => validateKubernetesObject(object), `${object.kind}`).not.toThrow();
  });

  it('makes the same Deployment, Service, ConfigMap, HPA and PDB as deploy/kubernetes (release "switchyard")', () => {
    const plain = ['deployment', 'service', 'configmap', 'hpa', 'pdb'].flatMap((name) => readYamlDocuments(`deploy/kubernetes/${name}.yaml`));
    const chartOnlyLabels = ['app.kubernetes.io/version', 'app.kubernetes.io/managed-by', 'helm.sh/chart'];
    const comparable = (object: any) => {
      const copy = structuredClone(object);
      for (const label of chartOnlyLabels) delete copy.metadata.labels[label];
      if (copy.kind === 'Deployment') {
        delete copy.spec.replicas; // the HPA sets it when autoscaling is on
        delete copy.spec.template.metadata.annotations; // checksums that roll pods on a change
        const container = copy.spec.template.spec.containers[0];
        container.env = container.env.filter((entry: any) => entry.name !== 'SWITCHYARD_METRICS_PUBLIC').sort((a: any, b: any) => a.name.localeCompare(b.name));
      }
      if (copy.kind === 'ConfigMap') copy.data['fleet.yaml'] = parseFleetFile(copy.data['fleet.yaml'], 'fleet.yaml', {});
      return copy;
    };
    for (const expected of plain) {
      const rendered = objects.find((object) => object.kind === expected.kind);
      expect(comparable(rendered), expected.kind).toEqual(comparable(expected));
    }
  });

  it('puts the keys and URLs in its Secret and reads them from there; the values pass the gateway own config schema', () => {
    const secret = only(objects, 'Secret');
    expect(secret.stringData).toEqual({ 'admin-key': required.secrets.adminKey, 'secret-key': required.secrets.secretKey, 'database-url': required.postgresql.url, 'redis-url': required.redis.url });
    const { env } = describeInstallation(objects);
    expect(unknownVariables(env.map((entry) => entry.name))).toEqual([]);
    const resolved = Object.fromEntries(env.map((entry) => [entry.name, entry.value ?? secret.stringData[entry.valueFrom.secretKeyRef.key]]));
    for (const entry of env.filter((item) => item.valueFrom !== undefined)) expect(entry.valueFrom.secretKeyRef.name).toBe(secret.metadata.name);
    const { config } = loadConfig({ env: { ...resolved, SWITCHYARD_CONFIG: undefined } });
    expect(config).toMatchObject({ database_url: required.postgresql.url, redis_url: required.redis.url, shutdown_grace_ms: 30_000, metrics_public: false });
  });

  it('follows the values: replicas without autoscaling, existing Secrets, env, the shutdown timing, resources, a fleet file', () => {
    const custom = render({
      replicaCount: 3,
      autoscaling: { enabled: false },
      podDisruptionBudget: { enabled: false },
      secrets: { existingSecret: 'gateway-keys' },
      postgresql: { existingSecret: 'pg', existingSecretKey: 'uri' },
      redis: { existingSecret: 'cache', existingSecretKey: 'url' },
      env: { SWITCHYARD_LOG_LEVEL: 'debug' },
      shutdown: { graceSeconds: 120, preStopSeconds: 10 },
      resources: { limits: { memory: '4Gi' } },
      fleet: { file: { servers: [{ name: 'gpu-a', server_type: 'vllm', base_url: 'http://vllm-a:8000' }] } },
      image: { repository: 'registry.example/switchyard', tag: '1.2.3' },
    }, 'prod');
    expect(custom.map((object) => object.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Service']);
    for (const object of custom) expect(() => validateKubernetesObject(object)).not.toThrow();
    const { deployment, container, env, envValue } = describeInstallation(custom);
    expect(deployment.metadata.name).toBe('prod-switchyard');
    expect(deployment.spec.replicas).toBe(3);
    expect(container.image).toBe('registry.example/switchyard:1.2.3');
    const secretRefs = Object.fromEntries(env.filter((entry) => entry.valueFrom !== undefined).map((entry) => [entry.name, entry.valueFrom.secretKeyRef]));
    expect(secretRefs).toEqual({
      DATABASE_URL: { name: 'pg', key: 'uri' },
      REDIS_URL: { name: 'cache', key: 'url' },
      SWITCHYARD_ADMIN_KEY: { name: 'gateway-keys', key: 'admin-key' },
      SWITCHYARD_SECRET_KEY: { name: 'gateway-keys', key: 'secret-key' },
    });
    expect(envValue('SWITCHYARD_LOG_LEVEL')).toBe('debug');
    expect(envValue('SWITCHYARD_SHUTDOWN_GRACE_S')).toBe('120');
    expect(container.lifecycle.preStop.exec.command).toEqual(['sleep', '10']);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(145);
    expect(container.resources.limits).toEqual({ cpu: '2', memory: '4Gi' });
    const configMap = only(custom, 'ConfigMap');
    expect(parseFleetFile(configMap.data['fleet.yaml'], 'fleet.yaml', {}).servers.map((server) => server.name)).toEqual(['gpu-a']);
    const service = only(custom, 'Service');
    expect(selects(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
  });

  it('adds a valid ServiceMonitor on request, with the metrics key unless /metrics is public', () => {
    const withToken = render({ ...required, serviceMonitor: { enabled: true, bearerTokenSecret: { name: 'metrics-key' } } });
    const monitor = only(withToken, 'ServiceMonitor');
    expect(() => validateKubernetesObject(monitor)).not.toThrow();
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics', authorization: { type: 'Bearer', credentials: { name: 'metrics-key', key: 'token' } } });
    const service = only(withToken, 'Service');
    expect(selects(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    const open = render({ ...required, metrics: { public: true }, serviceMonitor: { enabled: true } });
    expect(only(open, 'ServiceMonitor').spec.endpoints[0].authorization).toBeUndefined();
    expect(describeInstallation(open).envValue('SWITCHYARD_METRICS_PUBLIC')).toBe('true');
  });

  it('refuses to render without the keys, PostgreSQL or Redis, naming the value', () => {
    expect(() => render({})).toThrow(/secrets.adminKey is required/);
    expect(() => render({ ...required, postgresql: { url: '' } })).toThrow(/postgresql.url is required/);
    expect(() => render({ ...required, redis: { url: '' } })).toThrow(/redis.url is required/);
    expect(() => render({ ...required, serviceMonitor: { enabled: true } })).toThrow(/bearerTokenSecret.name is required/);
    expect(() => render({ ...required, secrets: { existingSecret: 'keys' }, postgresql: { existingSecret: 'pg' }, redis: { existingSecret: 'cache' } })).not.toThrow();
    expect(render({ ...required, secrets: { existingSecret: 'keys' }, postgresql: { existingSecret: 'pg' }, redis: { existingSecret: 'cache' } }).some((object) => object.kind === 'Secret')).toBe(false);
  });

  it('(the renderer fails on what Go templates refuse: an unknown function, an unclosed block, a field of a missing value)', () => {
    const check = (text: string) => () => new ChartRenderer(new Map([['t.yaml', text]])).render('t.yaml', { Values: { a: null }, Release: {}, Chart: {} });
    expect(check('{{ toJsonn .Values }}')).toThrow(TemplateError);
    expect(check('{{ if .Values.a }}x')).toThrow(/without \{\{ end \}\}/);
    expect(check('{{ .Values.a.b }}')).toThrow(/nil pointer/);
    expect(check('a:\n  {{- if true }}\n  b: 1\n  {{- end }}\n')()).toBe('a:\n  b: 1\n');
  });
});
