import { useEffect, useState } from 'react';
import { api, type Session, type UsageGroup } from '../api.ts';
import { LineChart } from '../components/charts.tsx';
import { ErrorNote } from '../components/modal.tsx';
import { PricesPanel } from './prices-panel.tsx';
import { LiveFigures } from '../components/live-figures.tsx';

/** Requests, latency, tokens and errors over time, and totals by model, server or key. */
export function UsagePage(props: { session: Session }) {
  const [hours, setHours] = useState<UsageGroup[] | null>(null);
  const [total, setTotal] = useState<UsageGroup | null>(null);
  const [groups, setGroups] = useState<UsageGroup[]>([]);
  const [groupBy, setGroupBy] = useState('model');
  const [error, setError] = useState<string | null>(null);
  const [source, setSource] = useState<'records' | 'rollups' | null>(null);
  useEffect(() => {
    api<{ data: UsageGroup[]; total: UsageGroup; source?: 'records' | 'rollups' }>('GET', '/api/v1/analytics/usage?group_by=hour').then((answer) => {
      setHours(answer.data);
      setTotal(answer.total);
      setSource(answer.source ?? null);
    }, (caught: unknown) => setError(caught instanceof Error ? caught.message : 'Could not load usage.'));
  }, []);
  useEffect(() => {
    api<{ data: UsageGroup[] }>('GET', `/api/v1/analytics/usage?group_by=${groupBy}`).then((answer) => setGroups(answer.data), (caught: unknown) => setError(caught instanceof Error ? caught.message : 'Could not load usage.'));
  }, [groupBy]);
  // Every hour of the window gets a point (zero when nothing happened), so trends read as lines.
  const series = lastHours(24).map((hourKey) => (hours ?? []).find((hour) => hour.group === hourKey) ?? emptyHour(hourKey));
  const labels = series.map((hour) => hour.group.slice(11, 16));
  return (
    <section>
      <h1>Usage (last 24 hours)</h1>
      <LiveFigures />
      <ErrorNote error={error} />
      {source === 'rollups' && (
        <p className="muted" data-testid="usage-source">
          At this volume the figures come from per-minute rollups: counts, tokens and costs are exact; percentiles are read from latency buckets and may differ from the exact ones by up to one bucket.
        </p>
      )}
      {hours !== null && hours.length === 0 && <p className="empty">No requests yet. Send one from the Playground, or point an application at /v1 with a key.</p>}
      {total !== null && total.requests > 0 && (
        <p className="cache-ratio" data-testid="cache-hit-ratio">
          Response cache: <strong>{percent(total.cache_hit_ratio ?? 0)}</strong> of requests answered from the cache ({total.cache_hits ?? 0} of {total.requests}).
        </p>
      )}
      {hours !== null && hours.length > 0 && (
        <div className="charts">
          <LineChart title="Requests" xLabel="hour (UTC)" yLabel="requests per hour" labels={labels} series={[{ label: 'requests', color: '#2563eb', points: series.map((hour) => hour.requests) }]} />
          <LineChart
            title="Latency"
            xLabel="hour (UTC)"
            yLabel="latency (ms)"
            unit=" ms"
            labels={labels}
            series={[
              { label: 'p50', color: '#16a34a', points: series.map((hour) => hour.p50_latency_ms) },
              { label: 'p95', color: '#d97706', points: series.map((hour) => hour.p95_latency_ms) },
            ]}
          />
          <LineChart title="Tokens" xLabel="hour (UTC)" yLabel="tokens per hour" labels={labels} series={[{ label: 'prompt', color: '#7c3aed', points: series.map((hour) => hour.prompt_tokens) }, { label: 'completion', color: '#db2777', points: series.map((hour) => hour.completion_tokens) }]} />
          <LineChart title="Cache hit ratio" xLabel="hour (UTC)" yLabel="hit ratio" unit="%" labels={labels} series={[{ label: 'hit ratio', color: '#0891b2', points: series.map((hour) => Math.round((hour.cache_hit_ratio ?? 0) * 100)) }]} />
          <LineChart title="Errors" xLabel="hour (UTC)" yLabel="failed requests per hour" labels={labels} series={[{ label: 'failed', color: '#dc2626', points: series.map((hour) => Math.round(hour.requests * (1 - (hour.success_rate ?? 1)))) }]} />
        </div>
      )}
      <h2>
        By{' '}
        <select name="group-by" value={groupBy} onChange={(event) => setGroupBy(event.target.value)}>
          <option value="model">model</option>
          <option value="server">server</option>
          <option value="key">key</option>
          <option value="api">API</option>
        </select>
      </h2>
      <table aria-label="Usage by group">
        <thead>
          <tr>
            <th>{groupBy === 'api' ? 'API' : groupBy}</th>
            <th>Requests</th>
            <th>Success</th>
            <th>p50</th>
            <th>p95</th>
            <th>Tokens</th>
            <th>Tokens/s</th>
            <th title="Answered from the response cache">Cache hits</th>
            <th title="Waited in the gateway's queue for a model at capacity; p95 of those waits">Queued</th>
            <th title="Refused by a key's rate limit or budget (429)">Rate-limited</th>
            <th title="At the models' prices (see Prices below)">Cost</th>
          </tr>
        </thead>
        <tbody>
          {groups.map((group) => (
            <tr key={group.group}>
              <td>{groupBy === 'key' ? <KeyLabel group={group} /> : groupBy === 'api' ? <span data-testid={`api-${group.group}`}>{apiLabels[group.group] ?? group.group}</span> : group.group}</td>
              <td>{group.requests}</td>
              <td>{group.success_rate === null ? '—' : `${Math.round(group.success_rate * 100)}%`}</td>
              <td>{group.p50_latency_ms === null ? '—' : `${Math.round(group.p50_latency_ms)} ms`}</td>
              <td>{group.p95_latency_ms === null ? '—' : `${Math.round(group.p95_latency_ms)} ms`}</td>
              <td>{group.prompt_tokens + group.completion_tokens}</td>
              <td>{group.tokens_per_second ?? '—'}</td>
              <td>{group.cache_hits === undefined || group.cache_hits === 0 ? '—' : `${group.cache_hits} (${percent(group.cache_hit_ratio ?? 0)})`}</td>
              <td data-testid={`queued-${group.group}`}>{group.queued === undefined || group.queued === 0 ? '—' : `${group.queued} (p95 ${Math.round(group.p95_queue_wait_ms ?? 0)} ms)`}</td>
              <td>{rateLimited(group)}</td>
              <td data-testid={`cost-${group.group}`}>{group.cost === null || group.cost === undefined ? '—' : group.cost.toFixed(6)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <PricesPanel session={props.session} />
    </section>
  );
}

/** A key by its name (its id on hover); a deleted key by a short id; Switchyard's own traffic marked as such. */
function KeyLabel({ group }: { group: UsageGroup }) {
  if (group.internal === true) return <span className="muted">{group.key_name}</span>;
  if (group.key_id === null || group.key_id === undefined) return <span className="muted">no key</span>;
  return <span title={group.key_id}>{group.key_name ?? `deleted key ${group.key_id.slice(0, 8)}`}</span>;
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}

function rateLimited(group: UsageGroup): number {
  return (group.errors?.['rate_limit_exceeded'] ?? 0) + (group.errors?.['insufficient_quota'] ?? 0);
}

function lastHours(count: number): string[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, index) => `${new Date(now - (count - 1 - index) * 3_600_000).toISOString().slice(0, 13)}:00:00Z`);
}

function emptyHour(group: string): UsageGroup {
  return { group, requests: 0, success_rate: null, p50_latency_ms: null, p95_latency_ms: null, prompt_tokens: 0, completion_tokens: 0, tokens_per_second: null };
}

/** The API a request came in on, as a person knows it (the usage record's `api`). */
const apiLabels: Record<string, string> = {
  openai: 'OpenAI Chat Completions (/v1)',
  ollama: 'Ollama (/api)',
  anthropic: 'Anthropic Messages (/v1/messages)',
  responses: 'OpenAI Responses (/v1/responses)',
  rest: 'Model REST API (/api/v1/models)',
  graphql: 'GraphQL (/graphql)',
  websocket: 'WebSocket (/ws/chat)',
  grpc: 'gRPC (gateway.ModelService)',
};
