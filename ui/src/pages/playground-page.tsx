import { useEffect, useState } from 'react';
import { api } from '../api.ts';
import { ErrorNote } from '../components/modal.tsx';

interface ModelEntry {
  id: string;
  switchyard: { capabilities: string[]; servers: string[] };
}

/** Stream a chat token by token through the gateway, and try embeddings. */
export function PlaygroundPage() {
  const [models, setModels] = useState<ModelEntry[]>([]);
  const [model, setModel] = useState('auto');
  const [prompt, setPrompt] = useState('Say hello in five words.');
  const [answer, setAnswer] = useState('');
  const [meta, setMeta] = useState<{ server: string | null; model: string | null; ttft: number | null; reason: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [embedText, setEmbedText] = useState('The quick brown fox');
  const [embedding, setEmbedding] = useState<{ model: string; dimension: number; head: number[] } | null>(null);

  useEffect(() => {
    api<{ data: ModelEntry[] }>('GET', '/v1/models').then(
      (answerList) => setModels(answerList.data),
      (caught: unknown) => setError(caught instanceof Error ? caught.message : 'Could not list models.'),
    );
  }, []);

  const chat = async () => {
    setBusy(true);
    setAnswer('');
    setError(null);
    setMeta(null);
    const started = performance.now();
    try {
      const response = await fetch('/v1/chat/completions', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], stream: true }),
      });
      if (!response.ok || response.body === null) {
        const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
        throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
      }
      const info = { server: response.headers.get('x-switchyard-server'), model: response.headers.get('x-switchyard-model'), ttft: null as number | null, reason: response.headers.get('x-switchyard-reason') };
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const events = buffer.split('\n\n');
        buffer = events.pop() ?? '';
        for (const event of events) {
          const data = event.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).join('');
          if (data === '' || data === '[DONE]') continue;
          const chunk = JSON.parse(data) as { error?: { message: string }; choices?: Array<{ delta?: { content?: string } }> };
          if (chunk.error !== undefined) throw new Error(chunk.error.message);
          const token = chunk.choices?.[0]?.delta?.content ?? '';
          if (token !== '' && info.ttft === null) info.ttft = Math.round(performance.now() - started);
          setAnswer((current) => current + token);
        }
        setMeta({ ...info });
      }
      setMeta({ ...info });
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'The request failed.');
    } finally {
      setBusy(false);
    }
  };

  const embed = async () => {
    setError(null);
    const embedModel = models.find((entry) => entry.switchyard.capabilities.includes('embedding'))?.id ?? 'auto';
    try {
      const result = await api<{ model: string; data: Array<{ embedding: number[] }> }>('POST', '/v1/embeddings', { model: embedModel, input: embedText, encoding_format: 'float' });
      const vector = result.data[0]?.embedding ?? [];
      setEmbedding({ model: embedModel, dimension: vector.length, head: vector.slice(0, 4) });
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Embedding failed.');
    }
  };

  const chatModels = models.filter((entry) => entry.switchyard.capabilities.includes('chat'));
  return (
    <section>
      <h1>Playground</h1>
      <ErrorNote error={error} />
      {models.length === 0 && error === null && <p className="empty">No models are online yet. Add a server on the Servers page; its models appear here once it is healthy.</p>}
      <div className="playground">
        <label>
          Model
          <select name="model" value={model} onChange={(event) => setModel(event.target.value)}>
            <option value="auto">auto (let Switchyard pick)</option>
            {chatModels.map((entry) => (
              <option key={entry.id} value={entry.id}>
                {entry.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Message
          <textarea name="prompt" value={prompt} onChange={(event) => setPrompt(event.target.value)} rows={3} />
        </label>
        <button className="primary" onClick={() => void chat()} disabled={busy}>
          {busy ? 'Streaming…' : 'Send'}
        </button>
        <pre className="answer" data-testid="answer">
          {answer}
        </pre>
        {meta !== null && (
          <p className="muted" data-testid="answer-meta">
            Served by <strong>{meta.server}</strong> ({meta.model}) · time to first token {meta.ttft === null ? '—' : `${meta.ttft} ms`}
            {meta.reason === null ? '' : ` · ${meta.reason}`}
          </p>
        )}
      </div>
      <h2>Embeddings</h2>
      <div className="playground">
        <input name="embed" value={embedText} onChange={(event) => setEmbedText(event.target.value)} />
        <button onClick={() => void embed()}>Embed</button>
        {embedding !== null && (
          <p data-testid="embedding-result">
            {embedding.model}: {embedding.dimension} dimensions · [{embedding.head.map((value) => value.toFixed(3)).join(', ')}, …]
          </p>
        )}
      </div>
    </section>
  );
}
