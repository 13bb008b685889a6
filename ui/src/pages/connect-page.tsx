import { useState } from 'react';

const sampleQuery = '{\n  models { id name provider status capabilities servers }\n  servers { name healthStatus }\n}';

/** Where each client connects, and a GraphQL runner that sends queries with this session (the same scopes as its key). */
export function ConnectPage() {
  const [query, setQuery] = useState(sampleQuery);
  const [result, setResult] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const origin = window.location.origin;
  const wsOrigin = origin.replace(/^http/, 'ws');
  const run = async () => {
    setRunning(true);
    try {
      const response = await fetch('/graphql', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      setResult(JSON.stringify(await response.json(), null, 2));
    } catch (caught) {
      setResult(caught instanceof Error ? caught.message : 'The query could not be sent.');
    } finally {
      setRunning(false);
    }
  };
  const endpoints: Array<[string, string, string]> = [
    ['OpenAI', `${origin}/v1`, 'Chat Completions, completions, embeddings, rerank, Responses; any OpenAI SDK with base_url set here.'],
    ['Anthropic Messages', `${origin}/v1/messages`, 'The Anthropic SDKs with base_url set to the gateway.'],
    ['Ollama', `${origin}/api`, 'Ollama clients and Open WebUI (OLLAMA_HOST set to the gateway).'],
    ['GraphQL', `${origin}/graphql`, 'Queries and mutations by POST; subscriptions over WebSocket (graphql-transport-ws) at the same URL.'],
    ['WebSocket chat', `${wsOrigin}/ws/chat`, 'Send {model, message}; get {type: "delta"} events and a final {type: "done"}.'],
    ['WebSocket models', `${wsOrigin}/ws/models`, 'Every server and model status change as it happens.'],
    ['WebSocket metrics', `${wsOrigin}/ws/metrics`, 'Live request figures every interval_ms.'],
    ['gRPC', `${window.location.host}`, 'gateway.ModelService, plaintext HTTP/2 on this same port, with server reflection.'],
  ];
  return (
    <section>
      <h1>Connect</h1>
      <p className="muted">Every protocol takes the same keys and scopes, and is routed, limited and recorded the same way.</p>
      <table data-testid="endpoints">
        <thead>
          <tr>
            <th>API</th>
            <th>Endpoint</th>
            <th>For</th>
          </tr>
        </thead>
        <tbody>
          {endpoints.map(([name, url, use]) => (
            <tr key={name}>
              <td>{name}</td>
              <td>
                <code>{url}</code>
              </td>
              <td className="muted small">{use}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>gRPC</h2>
      <pre className="code">{`grpcurl -plaintext ${window.location.host} list\ngrpcurl -plaintext -H 'authorization: Bearer $KEY' -d '{"model": "…", "texts": ["hello"]}' ${window.location.host} gateway.ModelService/StoreVector`}</pre>
      <p className="muted small">
        The service definition: <a href="/proto/gateway/model_service.proto">model_service.proto</a>.
      </p>
      <h2>GraphQL</h2>
      <label>
        Query (sent with this session)
        <textarea name="graphql-query" rows={8} value={query} onChange={(event) => setQuery(event.target.value)} spellCheck={false} />
      </label>
      <div className="actions">
        <button onClick={() => void run()} disabled={running}>
          {running ? 'Running…' : 'Run query'}
        </button>
      </div>
      {result !== null && (
        <pre className="code" data-testid="graphql-result">
          {result}
        </pre>
      )}
    </section>
  );
}
