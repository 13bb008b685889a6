import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { environmentVariables } from '../../src/config/env-variables.ts';

/** An absolute path from one relative to the repository's root. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}

export function readRepoFile(relative: string): string {
  return readFileSync(repoPath(relative), 'utf8');
}

/** One YAML document; `<<` merge keys resolved, as Compose resolves them. */
export function readYaml<T = any>(relative: string): T {
  return parseYaml(readRepoFile(relative), { merge: true }) as T;
}

/** Every document of a YAML file (Kubernetes manifests may hold several). */
export function readYamlDocuments(relative: string): any[] {
  return parseAllDocuments(readRepoFile(relative), { merge: true })
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`${relative}: ${document.errors[0]?.message}`);
      return document.toJS() as unknown;
    })
    .filter((document) => document !== null);
}

/** The variables src/config reads (env-variables.ts), by name. */
export const configVariables: ReadonlySet<string> = new Set(environmentVariables.flatMap((entry) => entry.names));

/** The variables whose NAME_FILE form the image's entrypoint reads (its `for name in ...` list). */
export function entrypointFileVariables(): string[] {
  const match = /^for name in ([A-Z0-9_ ]+); do$/m.exec(readRepoFile('deploy/docker/entrypoint.sh'));
  if (match === null) throw new Error('deploy/docker/entrypoint.sh: no "for name in ...; do" line');
  return (match[1] as string).trim().split(/\s+/);
}

/** Names among `names` that neither src/config nor the entrypoint reads. */
export function unknownVariables(names: Iterable<string>): string[] {
  const fileForms = new Set(entrypointFileVariables().map((name) => `${name}_FILE`));
  return [...names].filter((name) => !configVariables.has(name) && !fileForms.has(name));
}
