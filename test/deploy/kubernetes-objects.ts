import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';

/** The kinds the deploy files make, by apiVersion and kind, with kubernetes-models' validating class. */
const models: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

/** Throws, naming the field, when the object does not match the Kubernetes (or Prometheus Operator) schema of its kind. */
export function validateKubernetesObject(object: any): void {
  const Model = models[`${object?.apiVersion}/${object?.kind}`];
  if (Model === undefined) throw new Error(`no schema known for ${object?.apiVersion} ${object?.kind}`);
  new Model(object).validate();
}

/** The one object of `kind` among `objects`. */
export function only(objects: any[], kind: string): any {
  const found = objects.filter((object) => object.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
}

/** True when every label the selector asks for is among `labels`. */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** Checks the objects that make one Switchyard installation against each other and against the gateway. */
export function describeInstallation(objects: any[]) {
  const deployment = only(objects, 'Deployment');
  const pod = deployment.spec.template;
  const container = pod.spec.containers.find((entry: any) => entry.name === 'switchyard');
  const env: Array<{ name: string; value?: string; valueFrom?: any }> = container.env ?? [];
  const envValue = (name: string) => env.find((entry) => entry.name === name)?.value;
  return { deployment, pod, container, env, envValue };
}
