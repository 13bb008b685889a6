import type { FastifyInstance } from 'fastify';
import type { QueueState } from '../../data/admission/model-admission.ts';

const tags = ['Analytics'];

export interface QueuesDependencies {
  /** Every model with requests running under a known capacity, or waiting for it. */
  states: () => QueueState[];
  /** The queue's bounds, as configured (SWITCHYARD_QUEUE_*). */
  settings: { max_length: number; max_wait_ms: number; weights: string };
}

/**
 * `GET /api/v1/queues`: the admission queues now, per model (waiting by
 * priority class, the longest wait, running against capacity), and their
 * bounds. What the console's queue panels on the model and server pages show.
 */
export async function queuesRoute(app: FastifyInstance, dependencies: QueuesDependencies): Promise<void> {
  app.get('/queues', { schema: { tags, summary: 'The admission queues now, per model', description: 'Models whose every deployment is at capacity queue requests here (SWITCHYARD_QUEUE_MAX_LENGTH, SWITCHYARD_QUEUE_MAX_WAIT_MS). Needs the `read` scope.' } }, async () => ({
    data: dependencies.states().sort((a, b) => b.waiting - a.waiting || a.model.localeCompare(b.model)),
    settings: dependencies.settings,
  }));
}
