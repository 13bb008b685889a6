import { useEffect, useState } from 'react';

interface LiveSnapshot {
  requests_per_s: number;
  errors_per_s: number;
  in_flight: number;
  ttft_p50_ms: number | null;
  latency_p50_ms: number | null;
  window_s: number;
}

/**
 * The last seconds of traffic, pushed over /ws/metrics (signed in by the
 * session cookie) every second: what is happening now, beside the hourly charts.
 */
export function LiveFigures() {
  const [snapshot, setSnapshot] = useState<LiveSnapshot | null>(null);
  const [state, setState] = useState<'connecting' | 'live' | 'closed'>('connecting');
  useEffect(() => {
    const socket = new WebSocket(`${window.location.origin.replace(/^http/, 'ws')}/ws/metrics?interval_ms=1000`);
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as { type?: string } & LiveSnapshot;
      if (message.type !== 'metrics') return;
      setSnapshot(message);
      setState('live');
    };
    socket.onclose = () => setState('closed');
    return () => socket.close();
  }, []);
  const figure = (label: string, value: string, testId: string) => (
    <div className="figure" data-testid={testId}>
      <span className="muted small">{label}</span>
      <strong>{value}</strong>
    </div>
  );
  return (
    <div className="live-figures" data-testid="live-figures">
      <span className={`live-dot ${state}`} title={state === 'live' ? 'Updated every second over /ws/metrics' : state === 'closed' ? 'The live feed closed; reload to reconnect' : 'Connecting'} />
      <strong>Live</strong>
      <span className="muted small">{snapshot === null ? (state === 'closed' ? 'feed closed' : 'connecting…') : `last ${snapshot.window_s} s`}</span>
      {snapshot !== null && (
        <>
          {figure('requests/s', snapshot.requests_per_s.toFixed(1), 'live-rps')}
          {figure('errors/s', snapshot.errors_per_s.toFixed(1), 'live-errors')}
          {figure('in flight', String(snapshot.in_flight), 'live-in-flight')}
          {figure('TTFT p50', snapshot.ttft_p50_ms === null ? '–' : `${Math.round(snapshot.ttft_p50_ms)} ms`, 'live-ttft')}
          {figure('latency p50', snapshot.latency_p50_ms === null ? '–' : `${Math.round(snapshot.latency_p50_ms)} ms`, 'live-latency')}
        </>
      )}
    </div>
  );
}
