import { readdirSync } from 'node:fs';
import { readRepoFile, repoPath } from './deploy-files.ts';

export const chartDirectory = 'deploy/helm/switchyard';

/** The chart's templates by file name, as text. */
export function chartTemplates(): Map<string, string> {
  const names = readdirSync(repoPath(`${chartDirectory}/templates`)).filter((file) => /\.(yaml|tpl)$/.test(file));
  return new Map(names.map((name) => [name, readRepoFile(`${chartDirectory}/templates/${name}`)]));
}

/** Every `.Values.a.b` path a template reads, as ['a', 'b']. */
export function valuesPaths(template: string): string[][] {
  return [...template.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)].map((match) => (match[1] as string).slice(1).split('.'));
}

/** Each `{{ if|range|with|define|block }}` has its `{{ end }}`: the file parses as Go templates do. */
export function unbalancedBlocks(template: string): string | null {
  const actions = [...template.matchAll(/\{\{-?\s*(\/\*[\s\S]*?\*\/|[\s\S]*?)\s*-?\}\}/g)].map((match) => (match[1] as string).trim());
  let depth = 0;
  for (const action of actions) {
    if (/^(if|range|with|define|block)\b/.test(action)) depth += 1;
    else if (/^end\b/.test(action)) depth -= 1;
    if (depth < 0) return `an {{ end }} without its block`;
  }
  return depth === 0 ? null : `${depth} block(s) without {{ end }}`;
}

/** The schema node for a path of properties, or null where the schema does not describe it. */
export function schemaAt(schema: any, path: string[]): any {
  let node = schema;
  for (const key of path) {
    if (node?.$ref !== undefined) node = resolveReference(schema, node.$ref);
    if (node?.properties?.[key] !== undefined) node = node.properties[key];
    else if (node?.type === 'object' && node.properties === undefined) return node; // free-form (securityContext, affinity...)
    else return null;
  }
  return node?.$ref === undefined ? node : resolveReference(schema, node.$ref);
}

function resolveReference(schema: any, reference: string): any {
  return reference.replace(/^#\//, '').split('/').reduce((node, key) => node?.[key], schema);
}

/** Paths of every value in a values document, leaves and objects alike. */
export function valuePaths(values: unknown, prefix: string[] = []): string[][] {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) return [prefix];
  const children = Object.entries(values as Record<string, unknown>).flatMap(([key, child]) => valuePaths(child, [...prefix, key]));
  return prefix.length === 0 ? children : [prefix, ...children];
}
