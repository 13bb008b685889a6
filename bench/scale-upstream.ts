// A whole fleet of OpenAI-style model servers behind one port, for the scale
// bench: `/node-<n>/v1/models` lists node n's ten models (two shared with
// other nodes, eight of its own, Ollama-style `:latest` names, some of them
// embedders). Answers are precomputed; runs in its own process so the bench
// measures only the gateway's side. Prints its URL on stdout.
import { createServer } from 'node:http';

const servers = Number(process.argv[2] ?? 1_000);
const sharedPool = 10;
const families = ['llama3.1', 'qwen2.5', 'mistral', 'gemma2', 'phi3', 'deepseek-coder', 'codellama', 'nomic-embed-text'];

/** Model ids on node n; the bench imports this to know what to ask for. */
export function modelsOfNode(node: number): string[] {
  const shared = [`shared-${node % sharedPool}-70b-instruct`, `shared-${(node + 1) % sharedPool}-70b-instruct`];
  const own = Array.from({ length: 8 }, (_, slot) => `${families[(node + slot) % families.length]}-n${node}-s${slot}:latest`);
  return [...shared, ...own];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const answers = new Map<string, string>();
  for (let node = 0; node < servers; node++) {
    const data = modelsOfNode(node).map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'bench' }));
    answers.set(`/node-${node}/v1/models`, JSON.stringify({ object: 'list', data }));
  }
  const server = createServer((request, response) => {
    const answer = request.method === 'GET' ? answers.get(request.url ?? '') : undefined;
    if (answer === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    response.end(answer);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address !== null && typeof address === 'object') process.stdout.write(`http://127.0.0.1:${address.port}\n`);
  });
}
