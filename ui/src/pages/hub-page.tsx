import { useEffect, useState, type FormEvent } from 'react';
import { api, canChange, formatBytes, messageOf, type HubModel, type HubSearchHit, type Session } from '../api.ts';
import { ErrorNote } from '../components/modal.tsx';
import { LiveOperation } from '../components/operation-progress.tsx';

/**
 * The Hugging Face Hub (`/api/v1/hub`): search, a repository's files and GGUF
 * quantisations, downloads into the gateway's cache, and pulls of
 * `hf.co/{owner}/{repo}:{quant}` on every Ollama server, each followed live.
 */
export function HubPage(props: { session: Session; repo: string | undefined; open: (repo: string) => void; back: () => void }) {
  return props.repo === undefined ? <HubSearch open={props.open} /> : <HubRepository repo={props.repo} session={props.session} back={props.back} />;
}

function HubSearch(props: { open: (repo: string) => void }) {
  const [query, setQuery] = useState('');
  const [ggufOnly, setGgufOnly] = useState(true);
  const [hits, setHits] = useState<HubSearchHit[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const search = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const params = new URLSearchParams({ q: query.trim(), limit: '30', ...(ggufOnly ? { filter: 'gguf' } : {}) });
    try {
      setHits((await api<{ data: HubSearchHit[] }>('GET', `/api/v1/hub/search?${params.toString()}`)).data);
    } catch (caught) {
      setHits(null);
      setError(messageOf(caught, 'The Hub could not be searched.'));
    }
  };
  return (
    <section>
      <h1>Hugging Face Hub</h1>
      <form className="inline-form" onSubmit={(event) => void search(event)}>
        <input name="q" aria-label="Search the Hub" placeholder="llama 3.2 instruct" value={query} onChange={(event) => setQuery(event.target.value)} />
        <label className="inline">
          <input type="checkbox" checked={ggufOnly} onChange={(event) => setGgufOnly(event.target.checked)} /> GGUF only
        </label>
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      <ErrorNote error={error} />
      {hits !== null && hits.length === 0 && <p className="muted">Nothing found.</p>}
      {hits !== null && hits.length > 0 && (
        <table aria-label="Hub search results">
          <thead>
            <tr>
              <th>Repository</th>
              <th>Downloads</th>
              <th>Likes</th>
              <th>GGUF</th>
              <th>Last modified</th>
            </tr>
          </thead>
          <tbody>
            {hits.map((hit) => (
              <tr key={hit.id}>
                <td>
                  <a href={`#/hub/${encodeURIComponent(hit.id)}`} onClick={(event) => { event.preventDefault(); props.open(hit.id); }}>
                    {hit.id}
                  </a>
                  {hit.private && <span className="badge"> private</span>}
                </td>
                <td>{hit.downloads.toLocaleString()}</td>
                <td>{hit.likes.toLocaleString()}</td>
                <td>{hit.gguf ? 'yes' : '–'}</td>
                <td>{hit.last_modified?.slice(0, 10) ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function HubRepository(props: { repo: string; session: Session; back: () => void }) {
  const [model, setModel] = useState<HubModel | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [operations, setOperations] = useState<string[]>([]);
  const load = () =>
    api<HubModel>('GET', `/api/v1/hub/models/${props.repo.split('/').map(encodeURIComponent).join('/')}`).then(
      (answer) => {
        setModel(answer);
        setError(null);
      },
      (caught: unknown) => setError(messageOf(caught, 'The repository could not be read.')),
    );
  useEffect(() => {
    void load();
  }, [props.repo]);
  const start = async (path: string, body: unknown) => {
    setError(null);
    try {
      const started = await api<{ operation_id: string }>('POST', path, body);
      setOperations((current) => [started.operation_id, ...current]);
    } catch (caught) {
      setError(messageOf(caught, 'It could not start.'));
    }
  };
  const admin = canChange(props.session);
  return (
    <section>
      <p>
        <button className="link" onClick={props.back}>
          ← Hub search
        </button>
      </p>
      <h1>{props.repo}</h1>
      <ErrorNote error={error} />
      {model !== null && (
        <>
          <p className="muted">
            commit {model.sha.slice(0, 12)} · {model.downloads.toLocaleString()} downloads · {model.likes.toLocaleString()} likes
            {model.last_modified === null ? '' : ` · modified ${model.last_modified.slice(0, 10)}`}
          </p>
          <h2>Quantisations</h2>
          {model.quants.length === 0 && <p className="muted">No GGUF quantisation in this repository.</p>}
          {model.quants.length > 0 && (
            <table aria-label="Quantisations">
              <thead>
                <tr>
                  <th>Quant</th>
                  <th>Size</th>
                  <th>Ollama name</th>
                  {admin && <th />}
                </tr>
              </thead>
              <tbody>
                {model.quants.map((quant) => (
                  <tr key={quant.quant} data-testid={`quant-${quant.quant}`}>
                    <td>{quant.quant}</td>
                    <td>{formatBytes(quant.size)}</td>
                    <td>
                      <code>{quant.ollama_name}</code>
                    </td>
                    {admin && (
                      <td className="actions-cell">
                        <button onClick={() => void start('/api/v1/hub/download', { repo: model.id, quant: quant.quant })}>Download to the gateway cache</button>{' '}
                        <button onClick={() => void start('/api/v1/models/pull', { model: quant.ollama_name, servers: 'all' })}>Pull on Ollama servers</button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {operations.map((id) => (
            <LiveOperation key={id} id={id} onEnded={() => void load()} />
          ))}
          <h2>Files</h2>
          <table aria-label="Files">
            <thead>
              <tr>
                <th>File</th>
                <th>Size</th>
                <th>Quant</th>
                <th>In the cache</th>
              </tr>
            </thead>
            <tbody>
              {model.files.map((file) => (
                <tr key={file.name} data-testid={`file-${file.name}`} data-cached={file.cached ? 'yes' : 'no'}>
                  <td>{file.name}</td>
                  <td>{formatBytes(file.size)}</td>
                  <td>{file.quant ?? '–'}</td>
                  <td>{file.cached ? 'cached' : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
