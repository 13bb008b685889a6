import type { Actor } from '../../domain/audit.ts';
import type { OperationView } from './operation.ts';

/** Which servers an action acts on: ids, or every server of a kind that can do it. */
export type ServerSelection = string[] | 'all';

export interface LifecycleRequest {
  model: string;
  servers: ServerSelection;
  actor: Actor;
}

/**
 * Pull, delete, copy, load and unload on many servers at once, each as one
 * operation (implemented by LifecycleService; REST, the CLI, the console and
 * the placement reconciler all go through it). Every method validates first
 * and throws an AppError (400 naming the field, 404, 409) before anything
 * starts; otherwise it answers the operation as started, at once.
 */
export interface ModelLifecycleActions {
  pull(request: LifecycleRequest): Promise<OperationView>;
  /** Refused with 409 naming what needs the model when it would remove its last copy, unless `force`. */
  remove(request: LifecycleRequest & { force?: boolean }): Promise<OperationView>;
  copy(request: LifecycleRequest & { destination: string }): Promise<OperationView>;
  /** `keepAlive`: an Ollama duration ("30m", "-1", 0) or seconds; absent: the server's default. */
  load(request: LifecycleRequest & { keepAlive?: string | number }): Promise<OperationView>;
  unload(request: LifecycleRequest): Promise<OperationView>;
}
