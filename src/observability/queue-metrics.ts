import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AdmissionObserver } from '../data/admission/model-admission.ts';

/**
 * The admission queues: how many requests wait per model, how long they
 * waited, and how many were shed and why (queue_full, queue_timeout,
 * client_gone). Model labels are registered model and route names only.
 */
export function queueMetrics(registry: Registry, depths: () => Array<{ model: string; waiting: number }>): AdmissionObserver {
  const registers = [registry];
  const reported = new Set<string>();
  new Gauge({
    name: 'llm_queue_depth',
    help: 'Requests waiting for a model whose every deployment is at capacity.',
    labelNames: ['model'],
    registers,
    collect() {
      const now = new Set<string>();
      for (const { model, waiting } of depths()) {
        now.add(model);
        this.set({ model }, waiting);
      }
      // A model whose queue emptied and was forgotten reads 0, then its series goes.
      for (const model of reported) if (!now.has(model)) this.remove({ model });
      reported.clear();
      for (const model of now) reported.add(model);
    },
  });
  const wait = new Histogram({ name: 'llm_queue_wait_seconds', help: 'Time admitted requests waited for capacity.', labelNames: ['model'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers });
  const shed = new Counter({ name: 'llm_requests_shed_total', help: 'Requests not admitted: queue full, waited too long, or the client left while waiting.', labelNames: ['model', 'reason'], registers });
  return {
    waited: (model, waitedMs) => wait.observe({ model }, waitedMs / 1000),
    shed: (model, reason) => shed.inc({ model, reason }),
  };
}
