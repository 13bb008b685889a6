import { modelAliases } from '../domain/model-server.ts';

const compiled = new Map<string, RegExp>();

function patternOf(glob: string): RegExp {
  let regex = compiled.get(glob);
  if (regex === undefined) {
    const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
    regex = new RegExp(`^${body}$`);
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(glob, regex);
  }
  return regex;
}

/**
 * Whether a key's allow-list (names or globs such as `llama*`) admits a model
 * name; null admits everything. Ollama's `name:latest` and `name` are one model.
 */
export function isModelAllowed(allowList: readonly string[] | null, name: string): boolean {
  if (allowList === null) return true;
  const names = [name, ...modelAliases(name), ...(name.includes(':') ? [] : [`${name}:latest`])];
  return allowList.some((glob) => names.some((candidate) => patternOf(glob).test(candidate)));
}
