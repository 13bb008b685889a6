import { useEffect, useState } from 'react';

type GatewayState = 'ready' | 'storage-unavailable' | 'draining';

const pollMs = 5_000;

/**
 * Says so when the gateway cannot save changes (storage unreachable) or is
 * shutting down. Reads /ready, the same public check load balancers use: no
 * admin data is involved, and it answers when storage does not.
 */
export function StatusBanner() {
  const [state, setState] = useState<GatewayState>('ready');
  useEffect(() => {
    let stopped = false;
    const check = async () => {
      try {
        const response = await fetch('/ready', { cache: 'no-store' });
        const body = (await response.json()) as { status?: string; checks?: Record<string, string> };
        if (stopped) return;
        if (response.ok) setState('ready');
        else if (body.status === 'draining') setState('draining');
        else if (body.checks?.['storage'] === 'unreachable') setState('storage-unavailable');
      } catch {
        // The gateway not answering at all is for the next poll (or the page's own requests) to show.
      }
    };
    void check();
    const timer = window.setInterval(() => void check(), pollMs);
    window.addEventListener('focus', check);
    return () => {
      stopped = true;
      window.clearInterval(timer);
      window.removeEventListener('focus', check);
    };
  }, []);
  if (state === 'ready') return null;
  return (
    <div className="banner" role="alert" data-testid="status-banner" data-state={state}>
      {state === 'storage-unavailable'
        ? 'Storage is unavailable: changes cannot be saved right now. Inference keeps working; this clears when the database is back.'
        : 'This gateway is shutting down: requests in flight finish, new ones go elsewhere.'}
    </div>
  );
}
