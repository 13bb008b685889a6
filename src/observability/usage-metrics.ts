import { Counter, Gauge, type Registry } from 'prom-client';

/** The usage queue and spool, so an operator sees records waiting out a storage outage, and any the bound dropped. */
export function usageQueueMetrics(registry: Registry, queued: () => number, spooled: () => number = () => 0): { dropped: Counter } {
  new Gauge({
    name: 'switchyard_usage_records_queued',
    help: 'Usage records waiting to be written to storage.',
    registers: [registry],
    collect() {
      this.set(queued());
    },
  });
  new Gauge({
    name: 'switchyard_usage_records_spooled',
    help: 'Usage records in the local spool (on disk, fsynced) waiting for the database to answer again.',
    registers: [registry],
    collect() {
      this.set(spooled());
    },
  });
  const dropped = new Counter({
    name: 'switchyard_usage_records_dropped_total',
    help: 'Usage records dropped (oldest first) because the queue was full while storage was unavailable.',
    registers: [registry],
  });
  return { dropped };
}
