import { useEffect, useState } from 'react';
import { api } from '../api.ts';

interface ModelStatus {
  model: string;
  status: 'available' | 'unavailable';
  loaded: boolean;
  recent_latency_ms: number | null;
  deployments: Array<{ server: string; health_status: string; model_status: string; routable: boolean; circuit: string; in_flight: number; capacity: number | null; capacity_source?: CapacitySource | null; last_hour: { requests: number; error_rate: number | null; p50_latency_ms: number | null } }>;
  last_hour: { requests: number; error_rate: number | null; p50_latency_ms: number | null; p95_latency_ms: number | null };
}

type CapacitySource = 'stated' | 'reported' | 'learned';

const capacityOrigins: Record<CapacitySource, string> = {
  stated: "the server's max_concurrency",
  reported: 'what the server reports (llama.cpp slots, TEI permits)',
  learned: 'the most it was seen running while it queued requests',
};

const ms = (value: number | null) => (value === null ? '—' : `${Math.round(value)} ms`);
const rate = (value: number | null) => (value === null ? '—' : `${Math.round(value * 1000) / 10}%`);

/**
 * Whether the model can be served now, where, and how its last hour went:
 * what GET /api/v1/models/{model}/status answers, the check an operator runs
 * with curl, on the model's page.
 */
export function ModelStatusSection(props: { model: string }) {
  const [status, setStatus] = useState<ModelStatus | null>(null);
  useEffect(() => {
    let live = true;
    void api<ModelStatus>('GET', `/api/v1/models/${encodeURIComponent(props.model)}/status`).then((answer) => live && setStatus(answer), () => live && setStatus(null));
    return () => {
      live = false;
    };
  }, [props.model]);
  if (status === null) return null;
  return (
    <section aria-label="Status" data-testid="model-status" data-status={status.status}>
      <h2>Status</h2>
      <p>
        <span className={`badge ${status.status === 'available' ? 'status-succeeded' : 'status-failed'}`}>{status.status}</span> {status.loaded ? 'loaded' : 'not loaded'} · last hour: {status.last_hour.requests} requests, p50 {ms(status.last_hour.p50_latency_ms)}, p95 {ms(status.last_hour.p95_latency_ms)}, errors {rate(status.last_hour.error_rate)}
      </p>
      <table aria-label="Model status by server">
        <thead>
          <tr>
            <th>Server</th>
            <th>Health</th>
            <th>Model</th>
            <th>Circuit</th>
            <th title="Requests in flight, of what the server can run at once (its max_concurrency, else what it reports, else what the gateway learned)">In flight / capacity</th>
            <th>Requests (hour)</th>
            <th>p50</th>
            <th>Errors</th>
          </tr>
        </thead>
        <tbody>
          {status.deployments.map((deployment) => (
            <tr key={deployment.server} data-testid={`model-status-${deployment.server}`}>
              <td>{deployment.server}</td>
              <td>
                <span className={`dot ${deployment.health_status}`} aria-hidden="true" /> {deployment.health_status}
              </td>
              <td>{deployment.model_status}</td>
              <td>{deployment.circuit}</td>
              <td data-testid={`in-flight-${deployment.server}`}>
                {deployment.in_flight} / {deployment.capacity ?? '?'}
                {deployment.capacity_source != null && (
                  <span className="muted small" data-testid={`capacity-source-${deployment.server}`} title={`Capacity: ${capacityOrigins[deployment.capacity_source]}`}>
                    {' '}
                    {deployment.capacity_source}
                  </span>
                )}
              </td>
              <td>{deployment.last_hour.requests}</td>
              <td>{ms(deployment.last_hour.p50_latency_ms)}</td>
              <td>{rate(deployment.last_hour.error_rate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
