import { describe, expect, it } from 'vitest';
import { integrationHealth, publicSummary, type IntegrationSources } from '../../src/http/integrations/integration-health.ts';
import { FailureMemory } from '../../src/observability/integration-status.ts';

const sources = (overrides: Partial<IntegrationSources>): IntegrationSources => ({
  storage: async () => true,
  storageDialect: 'postgres',
  redis: null,
  otlp: null,
  webhooks: () => new FailureMemory().status(),
  servers: () => [],
  ...overrides,
});

describe('integration health', () => {
  it('is down when storage is, whatever else is fine', async () => {
    const health = await integrationHealth(sources({ storage: async () => false }));
    expect(health.status).toBe('down');
    expect(health.integrations[0]).toMatchObject({ name: 'PostgreSQL', kind: 'storage', required: true, status: 'down' });
    expect(publicSummary(health)).toMatchObject({ status: 'down', integrations: [{ kind: 'storage', status: 'down' }, { kind: 'redis', status: 'disabled' }, { kind: 'otlp', status: 'disabled' }, { kind: 'webhooks', status: 'ok' }] });
  });

  it('is degraded, not down, when an optional integration fails, and ok again once it recovers', async () => {
    const deliveries = new FailureMemory();
    deliveries.fail('delivery of server.down failed after 5 attempts: HTTP 500');
    const failing = await integrationHealth(sources({ webhooks: () => deliveries.status() }));
    expect(failing.status).toBe('degraded');
    expect(failing.integrations.find((entry) => entry.kind === 'webhooks')).toMatchObject({ status: 'down', last_error: expect.stringContaining('HTTP 500') });
    deliveries.succeed();
    // Recovered, with the failure still shown for the hour after it.
    expect((await integrationHealth(sources({ webhooks: () => deliveries.status() }))).integrations.find((entry) => entry.kind === 'webhooks')?.status).toBe('degraded');
  });
});
