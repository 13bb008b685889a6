import { useEffect, useState } from 'react';
import { api, formatBytes, type OperationView } from '../api.ts';

/**
 * Follows one operation live over `GET /api/v1/operations/{id}/events` (the
 * session cookie goes along) and calls `onEnded` once when it ends.
 */
export function useOperation(id: string, onEnded?: (view: OperationView) => void): OperationView | null {
  const [view, setView] = useState<OperationView | null>(null);
  useEffect(() => {
    let ended = false;
    const events = new EventSource(`/api/v1/operations/${encodeURIComponent(id)}/events`);
    events.addEventListener('operation', (event) => {
      const next = JSON.parse((event as MessageEvent<string>).data) as OperationView;
      setView(next);
      if (next.status !== 'running' && !ended) {
        ended = true;
        events.close();
        onEnded?.(next);
      }
    });
    // The stream ends when the operation does; a dropped connection is read once more rather than retried for ever.
    events.onerror = () => {
      events.close();
      if (!ended) void api<OperationView>('GET', `/api/v1/operations/${encodeURIComponent(id)}`).then(setView, () => undefined);
    };
    return () => events.close();
  }, [id]);
  return view;
}

/** One progress bar per server, with bytes, the last step Ollama reported, and each server's own error. */
export function OperationProgress(props: { view: OperationView; onCancel?: () => void }) {
  const { view } = props;
  return (
    <div className="operation" data-testid={`operation-${view.id}`} data-status={view.status}>
      <p>
        <strong>
          {view.kind} {view.model}
        </strong>{' '}
        <span className={`badge status-${view.status}`}>{view.status}</span>
        {view.error !== null && <span className="muted"> ({view.error})</span>}
        {view.status === 'running' && props.onCancel !== undefined && (
          <button className="link" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </p>
      <ul className="plain">
        {view.servers.map((target) => {
          const percent = target.total !== null && target.total > 0 && target.completed !== null ? Math.floor((100 * target.completed) / target.total) : null;
          return (
            <li key={`${target.server_id ?? ''}-${target.name}`} data-testid={`progress-${target.name}`} data-status={target.status}>
              <span className="progress-name">{target.name}</span>
              <progress max={100} value={target.status === 'succeeded' ? 100 : (percent ?? undefined)} aria-label={`${view.kind} on ${target.name}`} />
              <span className="small">
                {percent === null ? '' : `${percent}% · ${formatBytes(target.completed)} of ${formatBytes(target.total)} · `}
                {target.status === 'running' ? (target.message ?? 'running') : target.status}
              </span>
              {target.error !== undefined && <span className="error small"> {target.error}</span>}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

/** A live operation, followed until it ends. */
export function LiveOperation(props: { id: string; onEnded: (view: OperationView) => void }) {
  const view = useOperation(props.id, props.onEnded);
  if (view === null) return <p className="muted">Starting…</p>;
  return <OperationProgress view={view} onCancel={() => void api('DELETE', `/api/v1/operations/${encodeURIComponent(view.id)}`).catch(() => undefined)} />;
}
