import type { Migration, MigrationProvider } from 'kysely/migration';
import { initialSchema } from './0001-initial-schema.ts';
import { routeOwnership } from './0002-route-ownership.ts';
import { webhooks } from './0003-webhooks.ts';
import { modelBenchmarks } from './0004-model-benchmarks.ts';
import { webhookRetrySchedule } from './0005-webhook-retry-schedule.ts';
import { serverKindModules } from './0006-server-kind-modules.ts';
import { cachePolicies } from './0007-cache-policies.ts';
import { operations } from './0008-operations.ts';
import { vectorCollections } from './0009-vector-collections.ts';
import { placements } from './0010-placements.ts';
import { modelRegistry } from './0011-model-registry.ts';
import { modelPrices } from './0012-model-prices.ts';
import { keyCostBudgets } from './0013-key-cost-budgets.ts';
import { usageApi } from './0014-usage-api.ts';
import { storedResponses } from './0015-stored-responses.ts';
import { serverMaxConcurrency } from './0016-server-max-concurrency.ts';
import { keyPriority } from './0017-key-priority.ts';
import { usageQueueWait } from './0018-usage-queue-wait.ts';
import { usageRollups } from './0019-usage-rollups.ts';
import { operationOwner } from './0020-operation-owner.ts';

/** Every migration, in order. Both dialects run exactly these. */
const migrations: Record<string, Migration> = {
  '0001-initial-schema': initialSchema,
  '0002-route-ownership': routeOwnership,
  '0003-webhooks': webhooks,
  '0004-model-benchmarks': modelBenchmarks,
  '0005-webhook-retry-schedule': webhookRetrySchedule,
  '0006-server-kind-modules': serverKindModules,
  '0007-cache-policies': cachePolicies,
  '0008-operations': operations,
  '0009-vector-collections': vectorCollections,
  '0010-placements': placements,
  '0011-model-registry': modelRegistry,
  '0012-model-prices': modelPrices,
  '0013-key-cost-budgets': keyCostBudgets,
  '0014-usage-api': usageApi,
  '0015-stored-responses': storedResponses,
  '0016-server-max-concurrency': serverMaxConcurrency,
  '0017-key-priority': keyPriority,
  '0018-usage-queue-wait': usageQueueWait,
  '0019-usage-rollups': usageRollups,
  '0020-operation-owner': operationOwner,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
