import { useEffect, useState } from 'react';

interface IntegrationEntry {
  name: string;
  kind: 'storage' | 'redis' | 'otlp' | 'webhooks' | 'model_server';
  required: boolean;
  status: 'ok' | 'degraded' | 'down' | 'disabled' | 'unknown';
  last_error: string | null;
  last_error_at: string | null;
  detail?: Record<string, unknown>;
}

interface IntegrationHealth {
  status: 'ok' | 'degraded' | 'down';
  checked_at: string;
  integrations: IntegrationEntry[];
  /** Usage records not yet in storage: in memory, and spooled to local disk while storage is unreachable. */
  usage?: { queued: number; spooled: number };
}

/** The health answer, also when it is a 503: storage down is exactly when the answer matters most. */
async function loadHealth(): Promise<IntegrationHealth> {
  const response = await fetch('/api/v1/integration/health', { credentials: 'same-origin' });
  if (response.status !== 200 && response.status !== 503) throw new Error(`The server answered HTTP ${response.status}.`);
  return (await response.json()) as IntegrationHealth;
}

const kindLabels: Record<IntegrationEntry['kind'], string> = { storage: 'Storage', redis: 'Redis', otlp: 'Tracing (OTLP)', webhooks: 'Webhooks', model_server: 'Model server' };

/**
 * What the gateway depends on besides its model servers (those have their
 * own cards below): storage, Redis, the OTLP exporter and webhook delivery,
 * each with its status and last error, and the usage records still waiting
 * for storage, from /api/v1/integration/health.
 */
export function IntegrationsPanel() {
  const [health, setHealth] = useState<IntegrationHealth | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    const load = () =>
      loadHealth().then(
        (answer) => live && (setHealth(answer), setFailed(false)),
        () => live && setFailed(true),
      );
    void load();
    const timer = setInterval(() => void load(), 10_000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  if (failed && health === null) return <p className="error" data-testid="integrations-unavailable">Integration status is unavailable: storage may be down.</p>;
  if (health === null) return null;
  const shown = health.integrations.filter((entry) => entry.kind !== 'model_server');
  return (
    <section className="integrations" aria-label="Integrations" data-testid="integrations" data-status={health.status}>
      <h2>
        Integrations <span className={`badge status-${health.status === 'ok' ? 'succeeded' : health.status === 'down' ? 'failed' : 'running'}`}>{health.status}</span>
      </h2>
      <table aria-label="Integrations">
        <thead>
          <tr>
            <th>Integration</th>
            <th>Status</th>
            <th>Last error</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((entry) => (
            <tr key={entry.kind} data-testid={`integration-${entry.kind}`} data-status={entry.status}>
              <td>
                {kindLabels[entry.kind]} {entry.kind === 'storage' ? <span className="muted">({entry.name})</span> : null}
                {entry.kind === 'redis' && entry.detail !== undefined ? (
                  <span className="muted" data-testid="redis-detail">
                    {' '}
                    ({String(entry.detail['target'])}; if unreachable, limits fail {String(entry.detail['failure_mode'])})
                  </span>
                ) : null}
              </td>
              <td>
                <span className={`dot ${entry.status === 'ok' ? 'online' : entry.status === 'disabled' ? 'unknown' : entry.status === 'down' ? 'offline' : 'degraded'}`} aria-hidden="true" /> {entry.status === 'disabled' ? 'not configured' : entry.status}
              </td>
              <td className="muted">{entry.last_error === null ? '—' : `${entry.last_error}${entry.last_error_at === null ? '' : ` (${new Date(entry.last_error_at).toLocaleString()})`}`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {health.usage === undefined ? null : (
        <p className={health.usage.spooled > 0 ? 'warning' : 'muted'} data-testid="usage-backlog" data-spooled={health.usage.spooled}>
          Usage records waiting for storage: {health.usage.queued} in memory, {health.usage.spooled} spooled to disk
          {health.usage.spooled > 0 ? ' (written to the database, oldest first, once it answers again)' : ''}
        </p>
      )}
    </section>
  );
}
