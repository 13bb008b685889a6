import { useEffect, useState } from 'react';
import { api, type Session } from './api.ts';
import { StatusBanner } from './components/status-banner.tsx';
import { KeysPage } from './pages/keys-page.tsx';
import { AuditPage } from './pages/audit-page.tsx';
import { ModelsPage } from './pages/models-page.tsx';
import { ModelDetail } from './pages/model-detail.tsx';
import { HubPage } from './pages/hub-page.tsx';
import { PlaygroundPage } from './pages/playground-page.tsx';
import { RoutesPage } from './pages/routes-page.tsx';
import { CachingPage } from './pages/caching-page.tsx';
import { CollectionsPage } from './pages/collections-page.tsx';
import { ServerDetail } from './pages/server-detail.tsx';
import { ServersPage } from './pages/servers-page.tsx';
import { SignIn } from './pages/sign-in.tsx';
import { UsagePage } from './pages/usage-page.tsx';
import { WebhooksPage } from './pages/webhooks-page.tsx';
import { ConnectPage } from './pages/connect-page.tsx';

const pages = [
  ['servers', 'Servers'],
  ['models', 'Models'],
  ['hub', 'Hub'],
  ['routes', 'Routes'],
  ['caching', 'Caching'],
  ['collections', 'Collections'],
  ['playground', 'Playground'],
  ['keys', 'Keys'],
  ['webhooks', 'Webhooks'],
  ['usage', 'Usage'],
  ['audit', 'Audit log'],
] as const;

function currentRoute(): string[] {
  return window.location.hash.replace(/^#\/?/, '').split('/').filter((part) => part !== '');
}

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    api<Session>('GET', '/api/v1/session').then(setSession, () => setSession(null));
    const onHash = () => setRoute(currentRoute());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  if (session === undefined) return <p className="muted center">Loading…</p>;
  if (session === null) return <SignIn onSignedIn={setSession} />;
  const [page = 'servers', id] = route;
  const go = (path: string) => {
    window.location.hash = `#/${path}`;
  };
  const signOut = async () => {
    await api('DELETE', '/api/v1/session').catch(() => undefined);
    setSession(null);
  };
  return (
    <div className="shell">
      <nav>
        <strong className="brand">Switchyard</strong>
        {pages.map(([path, label]) => (
          <a key={path} href={`#/${path}`} className={page === path ? 'active' : ''}>
            {label}
          </a>
        ))}
        <span className="spacer" />
        {/* The scopes in a tooltip: spelled out, they pushed "Sign out" onto a second line at 1280 px. */}
        <span className="muted small" title={`Scopes: ${session.scopes.join(', ')}`}>
          {session.name}
        </span>
        <button className="link" onClick={() => void signOut()}>
          Sign out
        </button>
      </nav>
      <StatusBanner />
      <main>
        {page === 'servers' && id === undefined && <ServersPage session={session} open={(serverId) => go(`servers/${serverId}`)} />}
        {page === 'servers' && id !== undefined && <ServerDetail id={id} session={session} back={() => go('servers')} />}
        {page === 'models' && id === undefined && <ModelsPage session={session} />}
        {page === 'models' && id !== undefined && <ModelDetail id={id} session={session} back={() => go('models')} />}
        {page === 'hub' && <HubPage session={session} repo={id === undefined ? undefined : decodeURIComponent(id)} open={(repo) => go(`hub/${encodeURIComponent(repo)}`)} back={() => go('hub')} />}
        {page === 'playground' && <PlaygroundPage />}
        {page === 'keys' && <KeysPage session={session} />}
        {page === 'usage' && <UsagePage session={session} />}
        {page === 'routes' && <RoutesPage session={session} />}
        {page === 'caching' && <CachingPage session={session} />}
        {page === 'collections' && <CollectionsPage session={session} />}
        {page === 'webhooks' && <WebhooksPage session={session} />}
        {page === 'audit' && <AuditPage />}
        {page === 'connect' && <ConnectPage />}
        {!pages.some(([path]) => path === page) && page !== 'connect' && <p className="error">There is no page “{page}”. Pick one above.</p>}
      </main>
      {/* The gateway's own API reference (OpenAPI, rendered at /docs from the same origin); the nav has no room left at 1280 px. */}
      <footer className="muted small">
        <a href="/docs/" target="_blank" rel="noreferrer">
          API reference
        </a>{' '}
        (OpenAPI: <a href="/openapi.json">/openapi.json</a>) · <a href="#/connect">Connect: endpoints, GraphQL, WebSocket, gRPC</a>
      </footer>
    </div>
  );
}
