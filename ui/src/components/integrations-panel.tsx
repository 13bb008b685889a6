import { useEffect, useState } from 'react';
import { api } from '../api.ts';

interface IntegrationEntry {
  name: string;
  kind: 'storage' | 'redis' | 'otlp' | 'webhooks' | 'model_server';
  required: boolean;
  status: 'ok' | 'degraded' | 'down' | 'disabled' | 'unknown';
  last_error: string | null;
  last_error_at: string | null;
}

interface IntegrationHealth {
  status: 'ok' | 'degraded' | 'down';
  checked_at: string;
  integrations: IntegrationEntry[];
}

const kindLabels: Record<IntegrationEntry['kind'], string> = { storage: 'Storage', redis: 'Redis', otlp: 'Tracing (OTLP)', webhooks: 'Webhooks', model_server: 'Model server' };

/**
 * What the gateway depends on besides its model servers (those have their
 * own cards below): storage, Redis, the OTLP exporter and webhook delivery,
 * each with its status and last error, from /api/v1/integration/health.
 */
export function IntegrationsPanel() {
  const [health, setHealth] = useState<IntegrationHealth | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    const load = () =>
      api<IntegrationHealth>('GET', '/api/v1/integration/health').then(
        (answer) => live && (setHealth(answer), setFailed(false)),
        // 503 (storage down) still carries the answer, but api() throws on it: say so plainly.
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
              </td>
              <td>
                <span className={`dot ${entry.status === 'ok' ? 'online' : entry.status === 'disabled' ? 'unknown' : entry.status === 'down' ? 'offline' : 'degraded'}`} aria-hidden="true" /> {entry.status === 'disabled' ? 'not configured' : entry.status}
              </td>
              <td className="muted">{entry.last_error === null ? '—' : `${entry.last_error}${entry.last_error_at === null ? '' : ` (${new Date(entry.last_error_at).toLocaleString()})`}`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
