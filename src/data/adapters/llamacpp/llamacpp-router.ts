import { arrayField, isRecord, numberField, recordField, stringField } from '../shared/wire-values.ts';

/**
 * llama-server started without a model (router mode, `--models-dir` or the
 * cache) runs each model in a child process on demand and lists every model
 * with a `status`: `{"value": "unloaded" | "loading" | "loaded" | "sleeping",
 * "failed"?: true, "exit_code"?: n}`. A single-model llama-server lists its
 * one model without a status, which is how the two are told apart.
 */
export interface RouterModelState {
  value: string;
  /** The child process that should run it exited with an error. */
  failed: boolean;
  exitCode: number | null;
  lastError: string | null;
}

/** The detail a router's models carry, so lifecycle actions are offered only where the server manages its models. */
export const routerDetail = 'llamacpp_router';

/** Each model's state from a `/v1/models` answer; null when the server is not a router. */
export function routerStates(body: unknown): Map<string, RouterModelState> | null {
  const data = isRecord(body) ? arrayField(body, 'data') : null;
  if (data === null) return null;
  const states = new Map<string, RouterModelState>();
  for (const entry of data) {
    if (!isRecord(entry)) continue;
    const id = stringField(entry, 'id');
    const status = recordField(entry, 'status');
    const value = status === null ? null : stringField(status, 'value');
    if (id === null || status === null || value === null) continue;
    states.set(id, { value, failed: status['failed'] === true, exitCode: numberField(status, 'exit_code'), lastError: stringField(status, 'last_error') });
  }
  return states.size === 0 ? null : states;
}
