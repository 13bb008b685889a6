import type { Actor } from '../../domain/audit.ts';

/**
 * Long-running work on the fleet (pulls, deletes, loads, Hub downloads) runs
 * as an operation: started by one request, watched by any number of others,
 * kept after it ends. Nothing here blocks the request path or the health
 * checker. See decision 0018.
 */
export type OperationKind = 'pull' | 'delete' | 'copy' | 'load' | 'unload' | 'hub_download';

export type OperationStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One target's part: a server (or, for a Hub download, the file), with its own progress and result. */
export type TargetStatus = 'pending' | OperationStatus;

export interface OperationTargetView {
  /** The model server's id; null for targets that are not servers (a Hub download). */
  server_id: string | null;
  name: string;
  status: TargetStatus;
  /** Bytes (or units) done and in all, when the work reports them. */
  completed: number | null;
  total: number | null;
  digest: string | null;
  /** The last progress line the work reported ("pulling 8eeb52dfb3bb", "verifying sha256 digest"). */
  message: string | null;
  error?: string;
}

/** The public view: what GET /api/v1/operations/{id} answers and the SSE stream carries. */
export interface OperationView {
  id: string;
  kind: OperationKind;
  status: OperationStatus;
  /** The model (or Hub repository) it acts on. */
  model: string;
  /** What was asked, minus anything secret (e.g. `{ destination }` for a copy, `{ keep_alive }` for a load). */
  params: Record<string, unknown>;
  actor_key_id: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** Set when the operation as a whole failed for a reason of its own (`interrupted` by a restart). */
  error: string | null;
  servers: OperationTargetView[];
}

/** What a target's work reports while it runs. */
export interface TargetProgress {
  message?: string;
  completed?: number;
  total?: number;
  digest?: string;
}

export interface OperationTargetSpec {
  server_id: string | null;
  name: string;
}

export interface StartOperation {
  kind: OperationKind;
  model: string;
  params?: Record<string, unknown>;
  actor: Actor;
  targets: OperationTargetSpec[];
  /** How many targets run at once (bounded; default from settings). */
  concurrency?: number;
  /**
   * The work for one target. Resolves when it succeeded (optionally with a
   * final digest); throws when it failed (the error's message is shown, so it
   * must be safe). `signal` aborts when the operation is cancelled or the
   * gateway shuts down. One target failing never stops the others.
   */
  run: (target: OperationTargetSpec, progress: (update: TargetProgress) => void, signal: AbortSignal) => Promise<{ digest?: string } | void>;
  /** Called once when every target has ended (after the final state is stored), e.g. to re-probe servers. */
  onFinished?: (view: OperationView) => void;
}

export interface OperationQuery {
  status?: OperationStatus;
  kind?: OperationKind;
  limit?: number;
}

/** The operations engine (implemented by OperationService). */
export interface OperationRunner {
  /** Records the operation as running and starts it; answers at once, before any target has finished. */
  start(spec: StartOperation): Promise<OperationView>;
  get(id: string): Promise<OperationView | null>;
  list(query: OperationQuery): Promise<OperationView[]>;
  /** Aborts every target still running; answers the view as it then stands (null when unknown). */
  cancel(id: string, actor: Actor): Promise<OperationView | null>;
  /** Every change of one operation, as it happens; returns the unsubscribe. */
  subscribe(id: string, listener: (view: OperationView) => void): () => void;
  /** Resolves when the operation has ended (tests and callers inside the gateway, e.g. placement). */
  settled(id: string): Promise<OperationView>;
}
