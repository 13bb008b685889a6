import { useEffect, useState } from 'react';
import { api, canChange, isManagedByFleetFile, messageOf, type RouteRecord, type RouteTargetRecord, type Session } from '../api.ts';
import { ConfirmDelete } from '../components/confirm-delete.tsx';
import { ErrorNote } from '../components/modal.tsx';
import { RouteForm } from './route-form.tsx';
import { CacheBadge, useCachePolicies } from '../components/cache-badge.tsx';
import { ManagedBadge } from '../components/managed-badge.tsx';

/** Targets grouped by tier, in the order they are tried: "1: mixtral ×3, phi3 · 2: yi34b". */
function TargetList(props: { targets: RouteTargetRecord[]; unresolved: string[] }) {
  const tiers = [...new Set(props.targets.map((target) => target.tier))].sort((a, b) => a - b);
  return (
    <>
      {tiers.map((tier) => (
        <div key={tier} className="tier">
          {tiers.length > 1 && <span className="muted">tier {tier}: </span>}
          {props.targets
            .filter((target) => target.tier === tier)
            .map((target, index) => (
              <span key={target.model}>
                {index > 0 && ', '}
                <span className={props.unresolved.includes(target.model) ? 'unresolved-target' : ''}>{target.model}</span>
                {target.weight !== 1 && <span className="muted"> ×{target.weight}</span>}
              </span>
            ))}
        </div>
      ))}
    </>
  );
}

/** Routes: aliases over models, with strategies, weights, tiers and fallbacks; unresolved and fleet-file routes are marked. */
export function RoutesPage(props: { session: Session }) {
  const [routes, setRoutes] = useState<RouteRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<RouteRecord | 'new' | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const cachePolicies = useCachePolicies();

  const load = () =>
    api<{ data: RouteRecord[] }>('GET', '/api/v1/routes').then(
      (answer) => setRoutes(answer.data),
      (caught: unknown) => setError(messageOf(caught, 'Could not load the routes.')),
    );
  useEffect(() => void load(), []);

  const remove = async (route: RouteRecord) => {
    setError(null);
    try {
      await api('DELETE', `/api/v1/routes/${route.id}`);
      setNotice(`Route ${route.name} was deleted.`);
      setConfirming(null);
      await load();
    } catch (caught) {
      setError(messageOf(caught, 'Could not delete the route.'));
    }
  };

  const writable = canChange(props.session);
  return (
    <section>
      <header className="page-header">
        <h1>Routes</h1>
        {writable && (
          <div className="actions">
            <button className="primary" onClick={() => setEditing('new')}>
              Add route
            </button>
          </div>
        )}
      </header>
      <ErrorNote error={error} />
      {notice !== null && <p className="notice">{notice}</p>}
      {routes === null && error === null && <p className="muted">Loading…</p>}
      {routes !== null && routes.length === 0 && (
        <div className="empty">
          <h2>No routes yet</h2>
          <p>
            Without routes, callers ask for a model by the name its server gives it. A route is an alias (say <code>gpt-4o</code>) that sends traffic to one or more models, by weight or in tiers, and on to
            fallback models when none of them can answer.
          </p>
        </div>
      )}
      {routes !== null && routes.length > 0 && (
        <table className="routes">
          <thead>
            <tr>
              <th>Name</th>
              <th>Strategy</th>
              <th>Targets</th>
              <th>Fallbacks</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {routes.map((route) => {
              const unresolved = route.status === 'unresolved' ? route.unresolved_targets : [];
              const managed = isManagedByFleetFile(route);
              return (
                <tr key={route.id} data-testid={`route-row-${route.name}`} data-status={route.status}>
                  <td>
                    <strong>{route.name}</strong>
                    <CacheBadge policy={cachePolicies.get(route.name)} />
                    {managed && <ManagedBadge title="Change this route in the fleet file: the API refuses edits to it." />}
                  </td>
                  <td>{route.strategy ?? <span className="muted">default</span>}</td>
                  <td>
                    <TargetList targets={route.targets} unresolved={unresolved} />
                  </td>
                  <td>{route.fallbacks.length === 0 ? <span className="muted">none</span> : route.fallbacks.join(' → ')}</td>
                  <td>
                    {route.status === 'unresolved' ? (
                      <span className="badge unresolved" role="status">
                        unresolved: no server serves {unresolved.join(', ') || 'its targets'}
                      </span>
                    ) : (
                      'resolved'
                    )}
                  </td>
                  <td className="row-actions">
                    {writable && !managed && (
                      <>
                        <button onClick={() => setEditing(route)}>Edit</button>
                        <ConfirmDelete isAsking={confirming === route.id} question={`Delete ${route.name}?`} onAsk={() => setConfirming(route.id)} onConfirm={() => void remove(route)} onKeep={() => setConfirming(null)} />
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {editing !== null && (
        <RouteForm
          route={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(route) => {
            setEditing(null);
            setNotice(`Route ${route.name} was saved.`);
            void load();
          }}
        />
      )}
    </section>
  );
}
