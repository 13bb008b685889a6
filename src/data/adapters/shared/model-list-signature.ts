import type { DetectionAnswer } from '../server-kind-module.ts';
import { arrayField, isRecord, stringField } from './wire-values.ts';

/** The entries of an OpenAI-style `/v1/models` answer, or null when the answer is not one. */
export function listedModels(answer: DetectionAnswer | undefined): Record<string, unknown>[] | null {
  if (answer === undefined || !answer.ok || !isRecord(answer.body)) return null;
  const data = arrayField(answer.body, 'data');
  return data === null ? null : data.filter(isRecord);
}

/** Who the servers say owns their models (`vllm`, `llamacpp`…), a strong hint of what they are. */
export function modelOwners(answer: DetectionAnswer | undefined): Set<string> {
  const owners = new Set<string>();
  for (const entry of listedModels(answer) ?? []) {
    const owner = stringField(entry, 'owned_by');
    if (owner !== null) owners.add(owner);
  }
  return owners;
}

export function listedModelIds(answer: DetectionAnswer | undefined): string[] {
  return (listedModels(answer) ?? []).flatMap((entry) => {
    const id = stringField(entry, 'id');
    return id === null ? [] : [id];
  });
}
