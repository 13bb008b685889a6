import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parseFleetFile } from '../../src/config/fleet-file.ts';
import { readRepoFile, readYaml, readYamlDocuments, unknownVariables } from './deploy-files.ts';
import { chartDirectory, chartTemplates, schemaAt, unbalancedBlocks, valuePaths, valuesPaths } from './helm-chart.ts';

const values = readYaml(`${chartDirectory}/values.yaml`);
const schema = JSON.parse(readRepoFile(`${chartDirectory}/values.schema.json`));
const templates = chartTemplates();
const validateValues = new Ajv({ strict: false, allErrors: true }).compile(schema);
const withValues = (change: (copy: any) => void) => {
  const copy = structuredClone(values);
  change(copy);
  return copy;
};

describe('deploy/helm/switchyard', () => {
  it('Chart.yaml is a v2 chart named as its folder, versioned in SemVer, for the version package.json gives (the plain manifests use that tag too)', () => {
    const chart = readYaml(`${chartDirectory}/Chart.yaml`);
    const version = JSON.parse(readRepoFile('package.json')).version as string;
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'switchyard', type: 'application', appVersion: version });
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    const deployment = readYamlDocuments('deploy/kubernetes/deployment.yaml')[0];
    expect(deployment.spec.template.spec.containers[0].image).toBe(`switchyard:${version}`);
  });

  it('values.yaml is valid against values.schema.json', () => {
    const valid = validateValues(values);
    expect(validateValues.errors ?? [], JSON.stringify(validateValues.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('(the schema refuses a misspelt value, a wrong type, an unknown vector backend and a URL of the wrong kind, as helm install would)', () => {
    expect(validateValues(withValues((copy) => (copy.replicaCont = 3)))).toBe(false);
    expect(validateValues(withValues((copy) => (copy.autoscaling.enabled = 'yes')))).toBe(false);
    expect(validateValues(withValues((copy) => (copy.vectors.backend = 'chroma')))).toBe(false);
    expect(validateValues(withValues((copy) => (copy.postgresql.url = 'mysql://db/switchyard')))).toBe(false);
    expect(validateValues(withValues((copy) => (copy.secrets.adminKey = 'short')))).toBe(false);
    expect(validateValues(withValues((copy) => (copy.fleet.file.server = [])))).toBe(false);
  });

  it('values.schema.json describes every value in values.yaml, each top-level one with a description', () => {
    for (const path of valuePaths(values)) expect(schemaAt(schema, path), path.join('.')).not.toBeNull();
    const undescribed = Object.keys(schema.properties).filter((key) => schema.properties[key].description === undefined);
    expect(undescribed).toEqual([]);
  });

  it('every .Values path a template reads is in values.yaml and values.schema.json', () => {
    const used = [...templates.values()].flatMap(valuesPaths);
    expect(used.length).toBeGreaterThan(40);
    for (const path of used) {
      expect(schemaAt(schema, path), `${path.join('.')} in values.schema.json`).not.toBeNull();
      expect(path.reduce<any>((node, key) => node?.[key], values), `${path.join('.')} in values.yaml`).not.toBeUndefined();
    }
  });

  it('every template closes its blocks', () => {
    for (const [name, text] of templates) expect(unbalancedBlocks(text), name).toBeNull();
    expect(unbalancedBlocks('{{- if .Values.a }}\nx\n')).not.toBeNull();
  });

  it('the default fleet file is a valid fleet file, and env sets only variables src/config reads', () => {
    expect(() => parseFleetFile(JSON.stringify(values.fleet.file), 'values.yaml fleet.file', {})).not.toThrow();
    const setByTemplate = [...(templates.get('deployment.yaml') as string).matchAll(/- name: ([A-Z_][A-Z0-9_]*)\n/g)].map((match) => match[1] as string);
    expect(setByTemplate.length).toBeGreaterThan(5);
    expect(unknownVariables([...setByTemplate, ...Object.keys(values.env)])).toEqual([]);
  });

  it('makes the objects of deploy/kubernetes (and a Secret), with the same variables, probes and ports', () => {
    const plain = ['deployment', 'service', 'configmap', 'hpa', 'pdb'].flatMap((name) => readYamlDocuments(`deploy/kubernetes/${name}.yaml`));
    const kinds = (text: string) => [...text.matchAll(/^kind: (\w+)$/gm)].map((match) => match[1]);
    const templateKinds = [...templates.values()].flatMap(kinds).sort();
    expect(templateKinds).toEqual([...plain.map((object) => object.kind), 'Secret', 'ServiceMonitor'].sort());
    const deployment = templates.get('deployment.yaml') as string;
    const plainContainer = plain.find((object) => object.kind === 'Deployment').spec.template.spec.containers[0];
    for (const entry of plainContainer.env) expect(deployment, entry.name).toContain(`- name: ${entry.name}\n`);
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      expect(deployment).toContain(`${probe}:\n            httpGet:\n              path: ${plainContainer[probe].httpGet.path}\n              port: http\n`);
    }
    expect(deployment).toContain(`containerPort: ${plainContainer.ports[0].containerPort}\n`);
    expect(deployment).toContain('terminationGracePeriodSeconds: {{ add .Values.shutdown.preStopSeconds .Values.shutdown.graceSeconds 15 }}');
  });
});
