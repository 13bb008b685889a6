import { useEffect, useState } from 'react';
import { api, ApiError, cacheModes, type CachePolicyRecord } from '../api.ts';
import { Modal } from '../components/modal.tsx';
import { FormActions } from '../components/form-actions.tsx';

/** The form's fields as the API's body, or the field that is wrong and why. */
function bodyFrom(fields: { mode: string; ttl: string; scope: string; similarity: string; embeddingModel: string }): { body: Record<string, unknown> } | { param: string; message: string } {
  const ttl = Number(fields.ttl);
  if (!Number.isInteger(ttl) || ttl < 1) return { param: 'ttl_s', message: 'The time to live is a whole number of seconds, at least 1.' };
  const body: Record<string, unknown> = { mode: fields.mode, ttl_s: ttl, scope: fields.scope };
  if (fields.mode === 'semantic') {
    const similarity = Number(fields.similarity);
    if (!(similarity > 0 && similarity <= 1)) return { param: 'similarity', message: 'Similarity is a cosine similarity above 0 and at most 1 (0.95 is a good start).' };
    body['similarity'] = similarity;
    if (fields.embeddingModel.trim() !== '') body['embedding_model'] = fields.embeddingModel.trim();
  }
  return { body };
}

/** Turn the response cache on (or change it) for one model or route. */
export function CachePolicyForm(props: { policy: CachePolicyRecord | null; onClose: () => void; onSaved: (policy: CachePolicyRecord) => void }) {
  const editing = props.policy;
  const [names, setNames] = useState<string[]>([]);
  const [embedders, setEmbedders] = useState<string[]>([]);
  const [name, setName] = useState(editing?.name ?? '');
  const [mode, setMode] = useState<string>(editing?.mode ?? 'exact');
  const [ttl, setTtl] = useState(String(editing?.ttl_s ?? 3600));
  const [scope, setScope] = useState<string>(editing?.scope ?? 'key');
  const [similarity, setSimilarity] = useState(String(editing?.similarity ?? 0.95));
  const [embeddingModel, setEmbeddingModel] = useState(editing?.embedding_model ?? '');
  const [error, setError] = useState<{ message: string; param: string | null } | null>(null);
  const [saving, setSaving] = useState(false);

  // Suggestions: the fleet's models and routes, and the models that embed.
  useEffect(() => {
    api<{ data: Array<{ id: string; capabilities: string[] }> }>('GET', '/api/v1/models/registry').then(
      (answer) => {
        setNames((current) => [...new Set([...current, ...answer.data.map((model) => model.id)])]);
        setEmbedders(answer.data.filter((model) => model.capabilities.includes('embedding')).map((model) => model.id));
      },
      () => undefined,
    );
    api<{ data: Array<{ name: string }> }>('GET', '/api/v1/routes').then(
      (answer) => setNames((current) => [...new Set([...current, ...answer.data.map((route) => route.name)])]),
      () => undefined,
    );
  }, []);

  const save = async () => {
    setError(null);
    if (name.trim() === '') {
      setError({ param: 'name', message: 'Name the model or route callers ask for.' });
      return;
    }
    const parsed = bodyFrom({ mode, ttl, scope, similarity, embeddingModel });
    if ('param' in parsed) {
      setError(parsed);
      return;
    }
    setSaving(true);
    try {
      props.onSaved(await api<CachePolicyRecord>('PUT', `/api/v1/cache-policies/${name.trim()}`, parsed.body));
    } catch (caught) {
      setError(caught instanceof ApiError ? { message: caught.message, param: caught.param } : { message: 'Saving failed.', param: null });
    } finally {
      setSaving(false);
    }
  };
  const fieldError = (param: string) => (error?.param === param ? <span className="field-error">{error.message}</span> : null);
  const shownInline = error?.param != null && ['name', 'mode', 'ttl_s', 'scope', 'similarity', 'embedding_model'].includes(error.param);
  return (
    <Modal title={editing === null ? 'Cache a model or route' : `Edit the cache of ${editing.name}`} onClose={props.onClose}>
      <form
        className="cache-policy-form"
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <label>
          Model or route <span className="muted">(what callers put in <code>model</code>)</span>
          <input name="policy-name" list="cacheable-names" value={name} onChange={(event) => setName(event.target.value)} placeholder="mixtral" readOnly={editing !== null} required />
          <datalist id="cacheable-names">
            {names.map((option) => (
              <option key={option} value={option} />
            ))}
          </datalist>
          {fieldError('name')}
        </label>
        <label>
          Mode
          <select name="mode" value={mode} onChange={(event) => setMode(event.target.value)}>
            {cacheModes.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
          <span className="muted">Exact answers a request identical to one answered before. Semantic also answers one whose last user message means the same, when everything before it is identical.</span>
          {fieldError('mode')}
        </label>
        <label>
          Time to live (seconds)
          <input name="ttl" type="number" min={1} value={ttl} onChange={(event) => setTtl(event.target.value)} />
          {fieldError('ttl_s')}
        </label>
        <label>
          Scope
          <select name="scope" value={scope} onChange={(event) => setScope(event.target.value)}>
            <option value="key">key: each API key sees only its own answers</option>
            <option value="global">global: every key shares the answers</option>
          </select>
          {fieldError('scope')}
        </label>
        {mode === 'semantic' && (
          <>
            <label>
              Similarity <span className="muted">(cosine, 0–1; higher answers fewer, closer questions)</span>
              <input name="similarity" type="number" step="0.01" min={0} max={1} value={similarity} onChange={(event) => setSimilarity(event.target.value)} />
              {fieldError('similarity')}
            </label>
            <label>
              Embedding model <span className="muted">(embeds the last user message)</span>
              <input name="embedding-model" list="embedding-models" value={embeddingModel} onChange={(event) => setEmbeddingModel(event.target.value)} placeholder="general" />
              <datalist id="embedding-models">
                {embedders.map((option) => (
                  <option key={option} value={option} />
                ))}
              </datalist>
              {fieldError('embedding_model')}
            </label>
          </>
        )}
        {error !== null && !shownInline && <p className="error">{error.message}</p>}
        <FormActions saving={saving} onCancel={props.onClose} />
      </form>
    </Modal>
  );
}
