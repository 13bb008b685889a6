/**
 * Model names never go into an upstream URL, but are refused early if they
 * could: control characters, `..`, backslashes, a leading `/`. Names such as
 * `org/model`, `llama3:8b` and Ollama's `hf.co/{owner}/{repo}:{quant}` pass.
 */
export function hasForbiddenCharacters(name: string): boolean {
  return /[\u0000-\u001f\u007f\\]/.test(name) || name.includes('..') || name.startsWith('/');
}

/** What is wrong with a model name an operator gives (pull, delete, copy…), or null. */
export function modelNameProblem(name: string): string | null {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 256) return 'must be at most 256 characters';
  return hasForbiddenCharacters(name) ? 'contains characters a model name cannot have' : null;
}
