import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFleetFile } from '../../src/config/fleet-file.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { readRepoFile, readYamlDocuments, repoPath, unknownVariables } from './deploy-files.ts';
import { describeInstallation, only, selects, validateKubernetesObject } from './kubernetes-objects.ts';

const directory = 'deploy/kubernetes';
const files = readdirSync(repoPath(directory)).filter((file) => file.endsWith('.yaml')).map((file) => `${directory}/${file}`);
const monitoringFiles = readdirSync(repoPath(`${directory}/monitoring`)).map((file) => `${directory}/monitoring/${file}`);
const objects = files.flatMap((file) => readYamlDocuments(file));
const serviceMonitor = only(monitoringFiles.flatMap((file) => readYamlDocuments(file)), 'ServiceMonitor');
const { deployment, pod, container, env, envValue } = describeInstallation(objects);

describe('deploy/kubernetes', () => {
  it('holds a Deployment, Service, fleet ConfigMap, HPA and PDB, each valid against the Kubernetes schema; the ServiceMonitor (apart) against the Prometheus Operator one', () => {
    expect(objects.map((object) => object.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service']);
    for (const object of [...objects, serviceMonitor]) expect(() => validateKubernetesObject(object), `${object.kind} ${object.metadata.name}`).not.toThrow();
  });

  it('(the schema check fails on a wrong type or a probe without a port)', () => {
    const wrongType = structuredClone(deployment);
    wrongType.spec.replicas = 'two';
    expect(() => validateKubernetesObject(wrongType)).toThrow(/replicas/);
    const noPort = structuredClone(deployment);
    delete noPort.spec.template.spec.containers[0].readinessProbe.httpGet.port;
    expect(() => validateKubernetesObject(noPort)).toThrow(/port/);
  });

  it('runs 2 replicas, non-root, with resources, liveness on /health and readiness on /ready at the port the gateway listens on', () => {
    expect(deployment.spec.replicas).toBe(2);
    const port = container.ports.find((entry: any) => entry.name === 'http');
    expect(port.containerPort).toBe(loadConfig({ env: {} }).config.port);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.startupProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits.memory).toEqual(expect.any(String));
  });

  it('pauses before SIGTERM and waits longer than pause + SWITCHYARD_SHUTDOWN_GRACE_S before killing', () => {
    const pause = Number(container.lifecycle.preStop.exec.command[1]);
    expect(container.lifecycle.preStop.exec.command[0]).toBe('sleep');
    expect(pause).toBeGreaterThan(0);
    const grace = Number(envValue('SWITCHYARD_SHUTDOWN_GRACE_S'));
    expect(grace).toBe(30);
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(pause + grace + 10);
  });

  it('sets only variables src/config reads, with values its schema accepts; keys and URLs come from the Secret', () => {
    expect(unknownVariables(env.map((entry) => entry.name))).toEqual([]);
    const plain = Object.fromEntries(env.filter((entry) => entry.value !== undefined).map((entry) => [entry.name, entry.value as string]));
    expect(() => loadConfig({ env: { ...plain, SWITCHYARD_CONFIG: undefined } })).not.toThrow();
    const fromSecret = Object.fromEntries(env.filter((entry) => entry.valueFrom !== undefined).map((entry) => [entry.name, entry.valueFrom.secretKeyRef]));
    expect(fromSecret).toEqual({
      DATABASE_URL: { name: 'switchyard', key: 'database-url' },
      REDIS_URL: { name: 'switchyard', key: 'redis-url' },
      SWITCHYARD_ADMIN_KEY: { name: 'switchyard', key: 'admin-key' },
      SWITCHYARD_SECRET_KEY: { name: 'switchyard', key: 'secret-key' },
    });
    // The README beside the manifests tells how to create each of those keys.
    const readme = readRepoFile(`${directory}/README.md`);
    for (const { key } of Object.values(fromSecret) as Array<{ key: string }>) expect(readme).toContain(`--from-literal=${key}=`);
    expect(objects.some((object) => object.kind === 'Secret')).toBe(false);
  });

  it('mounts the fleet ConfigMap where SWITCHYARD_CONFIG points, and its fleet file is valid', () => {
    const configMap = only(objects, 'ConfigMap');
    const volume = pod.spec.volumes.find((entry: any) => entry.configMap?.name === configMap.metadata.name);
    const mount = container.volumeMounts.find((entry: any) => entry.name === volume.name);
    expect(envValue('SWITCHYARD_CONFIG')).toBe(`${mount.mountPath}/fleet.yaml`);
    expect(() => parseFleetFile(configMap.data['fleet.yaml'], 'fleet.yaml', {})).not.toThrow();
    // The data directory the image declares is writable (the root file system is read-only).
    const data = container.volumeMounts.find((entry: any) => entry.mountPath === '/var/lib/switchyard');
    expect(pod.spec.volumes.find((entry: any) => entry.name === data.name).emptyDir).toBeDefined();
  });

  it('wires Service, HPA, PDB and ServiceMonitor to the Deployment and its pods', () => {
    const labels = pod.metadata.labels;
    expect(selects(deployment.spec.selector.matchLabels, labels)).toBe(true);
    const service = only(objects, 'Service');
    expect(selects(service.spec.selector, labels)).toBe(true);
    expect(service.spec.ports[0].targetPort).toBe('http');
    const hpa = only(objects, 'HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBe(deployment.spec.replicas);
    const pdb = only(objects, 'PodDisruptionBudget');
    expect(selects(pdb.spec.selector.matchLabels, labels)).toBe(true);
    expect(selects(serviceMonitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    expect(serviceMonitor.spec.endpoints[0]).toMatchObject({ port: service.spec.ports[0].name, path: '/metrics' });
  });
});
