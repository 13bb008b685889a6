import { useEffect, useState } from 'react';
import { api } from '../api.ts';

interface QueueState {
  model: string;
  waiting: number;
  waiting_by_class: { interactive: number; standard: number; batch: number };
  oldest_wait_ms: number;
  running: number;
  capacity: number | null;
}

interface Queues {
  data: QueueState[];
  settings: { max_length: number; max_wait_ms: number; weights: string };
}

// Live enough to watch a backlog drain, light enough to leave open.
const refreshMs = 2_000;

/**
 * The admission queues of some models (GET /api/v1/queues): requests waiting
 * for capacity by priority class, the longest wait, and running against
 * capacity. On the model page (one model) and the server page (its models).
 */
export function QueuePanel(props: { models: readonly string[] }) {
  const [queues, setQueues] = useState<Queues | null>(null);
  useEffect(() => {
    let live = true;
    const load = () => api<Queues>('GET', '/api/v1/queues').then((answer) => live && setQueues(answer), () => undefined);
    void load();
    const timer = setInterval(() => void load(), refreshMs);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  if (queues === null) return null;
  const wanted = new Set(props.models);
  // A route's queue is named after its targets (`a+b`): it belongs to each of them.
  const shown = queues.data.filter((state) => state.model.split('+').some((model) => wanted.has(model)));
  const { max_length: maxLength, max_wait_ms: maxWaitMs } = queues.settings;
  return (
    <section aria-label="Queue" data-testid="queue-panel">
      <h2>Queue</h2>
      <p className="muted small">
        When every server of a model is at capacity, requests wait here, fairly by key and priority class, instead of piling onto the servers: at most {maxLength} per model, for at most {Math.round(maxWaitMs / 100) / 10} s, then they are answered 429 with Retry-After.
      </p>
      {shown.length === 0 ? (
        <p className="empty" data-testid="queue-empty">Nothing waiting: no request is being held for capacity now.</p>
      ) : (
        <table aria-label="Admission queues">
          <thead>
            <tr>
              <th>Model</th>
              <th>Waiting</th>
              <th title="Interactive / standard / batch keys">By class</th>
              <th>Longest wait</th>
              <th title="Requests admitted and not yet over, of what its servers can run at once">Running / capacity</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((state) => (
              <tr key={state.model} data-testid={`queue-${state.model}`}>
                <td>{state.model}</td>
                <td data-testid="queue-waiting">{state.waiting}</td>
                <td>
                  {state.waiting_by_class.interactive} / {state.waiting_by_class.standard} / {state.waiting_by_class.batch}
                </td>
                <td>{state.waiting === 0 ? '—' : `${(state.oldest_wait_ms / 1000).toFixed(1)} s`}</td>
                <td data-testid="queue-running">
                  {state.running} / {state.capacity ?? '?'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
