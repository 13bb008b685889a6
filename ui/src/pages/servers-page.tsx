import { IntegrationsPanel } from '../components/integrations-panel.tsx';
import { ClusterPanel } from '../components/cluster-panel.tsx';
import { useEffect, useState } from 'react';
import { api, canChange, isManagedByFleetFile, type ServerRecord, type Session } from '../api.ts';
import { Sparkline } from '../components/charts.tsx';
import { ErrorNote } from '../components/modal.tsx';
import { ServerForm } from './server-form.tsx';
import { testConnection } from './server-test.ts';
import { ManagedBadge } from '../components/managed-badge.tsx';

/** Server cards that change colour live (Server-Sent Events), with add, edit, test, check-all and delete. */
export function ServersPage(props: { session: Session; open: (id: string) => void }) {
  const [servers, setServers] = useState<ServerRecord[] | null>(null);
  const [latencies, setLatencies] = useState<Record<string, number[]>>({});
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<ServerRecord | 'new' | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  const upsert = (server: ServerRecord) => {
    setServers((current) => {
      const list = current ?? [];
      return list.some((entry) => entry.id === server.id) ? list.map((entry) => (entry.id === server.id ? server : entry)) : [...list, server];
    });
    if (server.last_latency_ms !== null) {
      setLatencies((current) => ({ ...current, [server.id]: [...(current[server.id] ?? []), server.last_latency_ms as number].slice(-30) }));
    }
  };

  useEffect(() => {
    api<{ data: ServerRecord[] }>('GET', '/api/v1/model-servers').then(
      (answer) => {
        setServers(answer.data);
        setLatencies(Object.fromEntries(answer.data.filter((server) => server.last_latency_ms !== null).map((server) => [server.id, [server.last_latency_ms as number]])));
      },
      (caught: unknown) => setError(caught instanceof Error ? caught.message : 'Could not load the servers.'),
    );
    const events = new EventSource('/api/v1/events');
    events.addEventListener('server', (event) => upsert((JSON.parse((event as MessageEvent<string>).data) as { server: ServerRecord }).server));
    events.addEventListener('server.deleted', (event) => {
      const { id } = JSON.parse((event as MessageEvent<string>).data) as { id: string };
      setServers((current) => (current ?? []).filter((server) => server.id !== id));
    });
    return () => events.close();
  }, []);

  const checkAll = async () => {
    setChecking(true);
    try {
      const { data } = await api<{ data: Array<{ name: string; health_status: string }> }>('POST', '/api/v1/model-servers/health-check-all');
      setNotice(`Checked ${data.length} server${data.length === 1 ? '' : 's'}: ${data.map((report) => `${report.name} ${report.health_status}`).join(', ') || 'none'}.`);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Check failed.');
    } finally {
      setChecking(false);
    }
  };

  const writable = canChange(props.session);
  return (
    <section>
      <header className="page-header">
        <h1>Model servers</h1>
        {writable && (
          <div className="actions">
            <button onClick={() => void checkAll()} disabled={checking}>
              {checking ? 'Checking…' : 'Check all'}
            </button>
            <button className="primary" onClick={() => setEditing('new')}>
              Add server
            </button>
          </div>
        )}
      </header>
      <ErrorNote error={error} />
      {notice !== null && <p className="notice">{notice}</p>}
      {servers === null && error === null && <p className="muted">Loading…</p>}
      {servers !== null && servers.length === 0 && (
        <div className="empty">
          <h2>No model servers yet</h2>
          <p>Add the URL of an Ollama, vLLM, llama.cpp, TEI or any OpenAI-compatible server: Switchyard finds out what it is, discovers its models and starts watching its health.</p>
          {writable && (
            <button className="primary" onClick={() => setEditing('new')}>
              Add your first server
            </button>
          )}
        </div>
      )}
      <IntegrationsPanel />
      <ClusterPanel />
      <div className="cards">
        {servers?.map((server) => (
          <ServerCard key={server.id} server={server} latencies={latencies[server.id] ?? []} writable={writable} onOpen={() => props.open(server.id)} onEdit={() => setEditing(server)} onNotice={setNotice} />
        ))}
      </div>
      {editing !== null && (
        <ServerForm
          server={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(server) => {
            upsert(server);
            setEditing(null);
          }}
        />
      )}
    </section>
  );
}

function ServerCard(props: { server: ServerRecord; latencies: number[]; writable: boolean; onOpen: () => void; onEdit: () => void; onNotice: (text: string) => void }) {
  const { server } = props;
  const [confirming, setConfirming] = useState(false);
  const managed = isManagedByFleetFile(server);
  // An offline server's last load figures describe a server that no longer answers: show none rather than stale ones.
  const load = server.health_status === 'offline' ? null : server.load;
  const test = async () => props.onNotice((await testConnection(server)).text);
  const remove = async () => {
    await api('DELETE', `/api/v1/model-servers/${server.id}`);
    props.onNotice(`${server.name} was removed.`);
  };
  return (
    <article className={`card status-${server.health_status}`} data-testid={`server-card-${server.name}`} data-status={server.health_status}>
      <header>
        <span className={`dot ${server.health_status}`} aria-hidden="true" />
        <button className="link title" onClick={props.onOpen}>
          {server.name}
        </button>
        <span className="badge">{server.server_type}</span>
        {managed && <ManagedBadge />}
      </header>
      <p className="url">{server.base_url}</p>
      <p className="status-line">
        <strong>{server.health_status}</strong>
        {server.status_message !== null && server.health_status !== 'online' && <span className="muted"> · {server.status_message}</span>}
      </p>
      <dl className="figures">
        <div>
          <dt>Models</dt>
          <dd>{server.models_count}</dd>
        </div>
        <div>
          <dt>Running</dt>
          <dd data-testid="load-running">{load?.running_requests ?? '—'}</dd>
        </div>
        <div>
          <dt>Waiting</dt>
          <dd data-testid="load-waiting">{load?.waiting_requests ?? '—'}</dd>
        </div>
        <div>
          <dt>KV cache</dt>
          <dd data-testid="load-kv-cache">{load?.kv_cache_usage == null ? '—' : `${Math.round(load.kv_cache_usage * 100)}%`}</dd>
        </div>
      </dl>
      <div className="latency">
        <span className="muted">Probe latency</span> <strong data-testid="probe-latency">{probeLatency(server)}</strong> <Sparkline points={props.latencies} />
      </div>
      {props.writable && (
        <footer>
          <button onClick={() => void test()}>Test connection</button>
          {!managed && <button onClick={props.onEdit}>Edit</button>}
          {managed ? null : confirming ? (
            <>
              <button className="danger" onClick={() => void remove()}>
                Delete {server.name}?
              </button>
              <button onClick={() => setConfirming(false)}>Keep</button>
            </>
          ) : (
            <button className="danger" onClick={() => setConfirming(true)}>
              Delete
            </button>
          )}
        </footer>
      )}
    </article>
  );
}

/** The last probe's round trip; an offline server's last probe failed, so it has none worth showing. */
export function probeLatency(server: ServerRecord): string {
  if (server.health_status === 'offline' || server.last_latency_ms === null) return '—';
  return server.last_latency_ms < 1 ? '<1 ms' : `${Math.round(server.last_latency_ms)} ms`;
}
