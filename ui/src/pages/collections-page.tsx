import { useEffect, useState } from 'react';
import { api, canWriteVectors, isManagedByFleetFile, messageOf, type CollectionRecord, type Session, type VectorHit } from '../api.ts';
import { ErrorNote } from '../components/modal.tsx';
import { ManagedBadge } from '../components/managed-badge.tsx';

const pathOf = (name: string) => encodeURIComponent(name);
const shortDigest = (digest: string | null) => (digest === null ? '—' : digest.replace(/^sha256:/, '').slice(0, 12));

/** Vector collections: one per model, with counts and status, re-embedding, and a search that runs through the API. */
export function CollectionsPage(props: { session: Session }) {
  const [collections, setCollections] = useState<CollectionRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const writable = canWriteVectors(props.session);

  const load = () =>
    api<{ data: CollectionRecord[] }>('GET', '/api/v1/collections').then(
      (answer) => setCollections(answer.data),
      (caught: unknown) => setError(messageOf(caught, 'Could not load the collections.')),
    );
  useEffect(() => void load(), []);
  // While a re-embed runs, its progress is read again every second.
  const running = collections?.some((collection) => collection.status === 'reembedding') === true;
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => void load(), 1_000);
    return () => clearInterval(timer);
  }, [running]);

  const act = async (what: () => Promise<unknown>, done: string, failed: string) => {
    setError(null);
    try {
      await what();
      setNotice(done);
      setConfirming(null);
      await load();
    } catch (caught) {
      setError(messageOf(caught, failed));
    }
  };

  return (
    <section>
      <header className="page-header">
        <h1>Vector collections</h1>
      </header>
      <ErrorNote error={error} />
      {notice !== null && <p className="notice">{notice}</p>}
      {collections === null && error === null && <p className="muted">Loading…</p>}
      {collections !== null && collections.length === 0 && (
        <div className="empty">
          <h2>No collection yet</h2>
          <p>
            Each model that embeds may own one. Map them in the fleet file's <code>collections:</code> section, create one below, or just store texts with{' '}
            <code>POST /api/v1/models/&#123;model&#125;/vectors/store</code>: a model without a collection gets one named after it.
          </p>
        </div>
      )}
      {collections !== null && collections.length > 0 && (
        <table className="collections">
          <thead>
            <tr>
              <th>Collection</th>
              <th>Model</th>
              <th>Size</th>
              <th>Distance</th>
              <th>Vectors</th>
              <th>Backend</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {collections.map((collection) => {
              const managed = isManagedByFleetFile(collection);
              const progress = collection.reembed;
              return (
                <tr key={collection.name} data-testid={`collection-row-${collection.name}`}>
                  <td>
                    <strong>{collection.name}</strong>
                    {managed && <ManagedBadge title="Change this collection in the fleet file: the API refuses to delete it." />}
                  </td>
                  <td>{collection.model}</td>
                  <td>{collection.vector_size}</td>
                  <td>{collection.distance}</td>
                  <td data-testid="collection-count">{collection.count ?? <span className="muted" title="The vector backend did not answer.">—</span>}</td>
                  <td>{collection.backend}</td>
                  <td data-testid="collection-status">
                    <span className={`badge status-${collection.status}`}>{collection.status}</span>
                    {collection.status === 'stale' && (
                      <div className="muted small">
                        model changed: {shortDigest(collection.model_digest)} → {shortDigest(collection.stale_digest)}
                      </div>
                    )}
                    {progress !== null && collection.status === 'reembedding' && (
                      <div className="small">
                        <progress max={Math.max(progress.total, 1)} value={progress.done} /> {progress.done} / {progress.total}
                      </div>
                    )}
                    {progress !== null && collection.status !== 'reembedding' && progress.error !== null && <div className="error small">last re-embed failed: {progress.error}</div>}
                    {progress !== null && collection.status !== 'reembedding' && progress.error === null && progress.skipped > 0 && (
                      <div className="muted small">
                        last re-embed: {progress.skipped} precomputed vectors not re-embedded{progress.dropped > 0 ? `, ${progress.dropped} left out (size changed)` : ''}
                      </div>
                    )}
                  </td>
                  <td className="row-actions">
                    {writable && collection.status !== 'reembedding' && (
                      <button
                        className={collection.status === 'stale' ? 'primary' : ''}
                        onClick={() => void act(() => api('POST', `/api/v1/collections/${pathOf(collection.name)}/reembed`), `Re-embedding ${collection.name}; searches use the old vectors until it is done.`, 'Could not start the re-embed.')}
                      >
                        Re-embed
                      </button>
                    )}
                    {writable && !managed &&
                      (confirming === collection.name ? (
                        <>
                          <button className="danger" onClick={() => void act(() => api('DELETE', `/api/v1/collections/${pathOf(collection.name)}`), `${collection.name} was deleted.`, 'Could not delete the collection.')}>
                            Delete {collection.name} and its {collection.count ?? 'stored'} vectors?
                          </button>
                          <button onClick={() => setConfirming(null)}>Keep</button>
                        </>
                      ) : (
                        <button className="danger" onClick={() => setConfirming(collection.name)}>
                          Delete
                        </button>
                      ))}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {writable && <CreateCollection onCreated={(name) => void act(async () => undefined, `${name} was created.`, '')} />}
      {collections !== null && collections.length > 0 && <SearchCollection collections={collections} />}
    </section>
  );
}

function CreateCollection(props: { onCreated: (name: string) => void }) {
  const [name, setName] = useState('');
  const [model, setModel] = useState('');
  const [size, setSize] = useState('');
  const [distance, setDistance] = useState('cosine');
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setError(null);
    if (size.trim() !== '' && !/^\d+$/.test(size.trim())) return setError('Vector size must be a whole number, or empty to learn it from the model.');
    try {
      await api('POST', '/api/v1/collections', { name, model, distance, ...(size.trim() === '' ? {} : { vector_size: Number(size) }) });
      setName('');
      setModel('');
      setSize('');
      props.onCreated(name);
    } catch (caught) {
      setError(messageOf(caught, 'Could not create the collection.'));
    }
  };
  return (
    <form
      className="inline-form"
      aria-label="Create a collection"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <h2>Create a collection</h2>
      <label>
        Name <input value={name} onChange={(event) => setName(event.target.value)} required />
      </label>
      <label>
        Model <input value={model} onChange={(event) => setModel(event.target.value)} required />
      </label>
      <label>
        Vector size <input value={size} placeholder="from the model" onChange={(event) => setSize(event.target.value)} />
      </label>
      <label>
        Distance{' '}
        <select value={distance} onChange={(event) => setDistance(event.target.value)}>
          <option value="cosine">cosine</option>
          <option value="dot">dot</option>
          <option value="euclid">euclid</option>
        </select>
      </label>
      <button className="primary" type="submit">
        Create
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

function SearchCollection(props: { collections: CollectionRecord[] }) {
  const [model, setModel] = useState(props.collections[0]?.model ?? '');
  const [query, setQuery] = useState('');
  const [topK, setTopK] = useState('10');
  const [hits, setHits] = useState<VectorHit[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [searching, setSearching] = useState(false);
  const search = async () => {
    setError(null);
    setSearching(true);
    try {
      const answer = await api<{ data: VectorHit[] }>('POST', `/api/v1/models/${pathOf(model)}/vectors/search`, { query, top_k: Number(topK) });
      setHits(answer.data);
    } catch (caught) {
      setHits(null);
      setError(messageOf(caught, 'The search failed.'));
    } finally {
      setSearching(false);
    }
  };
  return (
    <form
      className="inline-form"
      aria-label="Search a collection"
      onSubmit={(event) => {
        event.preventDefault();
        void search();
      }}
    >
      <h2>Search</h2>
      <label>
        Collection{' '}
        <select value={model} onChange={(event) => setModel(event.target.value)}>
          {props.collections.map((collection) => (
            <option key={collection.name} value={collection.model}>
              {collection.name} ({collection.model})
            </option>
          ))}
        </select>
      </label>
      <label>
        Query <input value={query} onChange={(event) => setQuery(event.target.value)} required />
      </label>
      <label>
        Top k <input value={topK} size={4} onChange={(event) => setTopK(event.target.value)} />
      </label>
      <button className="primary" type="submit" disabled={searching}>
        Search
      </button>
      <ErrorNote error={error} />
      {hits !== null && hits.length === 0 && <p className="muted">No vectors matched.</p>}
      {hits !== null && hits.length > 0 && (
        <table className="search-hits">
          <thead>
            <tr>
              <th>#</th>
              <th>Score</th>
              <th>Id</th>
              <th>Text</th>
              <th>Metadata</th>
            </tr>
          </thead>
          <tbody>
            {hits.map((hit, position) => (
              <tr key={hit.id} data-testid="search-hit">
                <td>{position + 1}</td>
                <td data-testid="hit-score">{hit.score.toFixed(4)}</td>
                <td>{hit.id}</td>
                <td data-testid="hit-text">{hit.text ?? <span className="muted">(precomputed vector)</span>}</td>
                <td>
                  <code>{JSON.stringify(hit.metadata)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </form>
  );
}
