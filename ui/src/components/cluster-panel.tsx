import { useEffect, useState } from 'react';
import { api } from '../api.ts';

interface ReplicaView {
  id: string;
  name: string;
  version: string;
  startedAt: string;
  checker: boolean;
  self: boolean;
  lastSeenAt: string;
}

interface ClusterStatus {
  mode: 'single' | 'cluster';
  transport: 'postgres' | null;
  connected: boolean;
  replicas: ReplicaView[];
  last_message_at: string | null;
}

/**
 * The replicas of this gateway on one PostgreSQL database (from
 * /api/v1/cluster): which one probes the fleet, which one answered this page,
 * and whether this one hears the others' changes.
 */
export function ClusterPanel() {
  const [cluster, setCluster] = useState<ClusterStatus | null>(null);
  useEffect(() => {
    let live = true;
    const load = () => api<ClusterStatus>('GET', '/api/v1/cluster').then((answer) => live && setCluster(answer), () => undefined);
    void load();
    const timer = setInterval(() => void load(), 5_000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  if (cluster === null) return null;
  if (cluster.mode === 'single') {
    return (
      <section className="cluster" aria-label="Replicas" data-testid="cluster" data-mode="single">
        <h2>Replicas</h2>
        <p className="muted">One replica: storage is the embedded SQLite file. Replicas that share a PostgreSQL database (DATABASE_URL) show here and act as one gateway.</p>
      </section>
    );
  }
  return (
    <section className="cluster" aria-label="Replicas" data-testid="cluster" data-mode="cluster">
      <h2>
        Replicas <span className="badge">{cluster.replicas.length}</span>{' '}
        <span className={`badge status-${cluster.connected ? 'succeeded' : 'failed'}`} data-testid="cluster-channel">{cluster.connected ? 'in sync' : 'not hearing the others'}</span>
      </h2>
      <table aria-label="Replicas">
        <thead>
          <tr>
            <th>Replica</th>
            <th>Version</th>
            <th>Started</th>
            <th>Role</th>
          </tr>
        </thead>
        <tbody>
          {cluster.replicas.map((replica) => (
            <tr key={replica.id} data-testid="cluster-replica" data-checker={replica.checker ? 'true' : 'false'} data-self={replica.self ? 'true' : 'false'}>
              <td>
                {replica.name} {replica.self ? <span className="muted">(this page)</span> : null}
              </td>
              <td>{replica.version}</td>
              <td>{new Date(replica.startedAt).toLocaleString()}</td>
              <td>{replica.checker ? <span className="badge status-succeeded">health checker</span> : <span className="muted">serves; reads the checker's probes</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
