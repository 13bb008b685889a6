// A deliberately fast OpenAI-style upstream for the benchmark: fixed answers,
// no work, so what is measured is the gateway. Prints its URL on stdout.
import { createServer } from 'node:http';

const completion = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'bench-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the benchmark upstream.' }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
});
const models = JSON.stringify({ object: 'list', data: [{ id: 'bench-model', object: 'model', created: 1_700_000_000, owned_by: 'bench' }] });
const chunk = (content: string) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'bench-model', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/v1/models') {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(models) });
    response.end(models);
    return;
  }
  const parts: Buffer[] = [];
  request.on('data', (part: Buffer) => parts.push(part));
  request.on('end', () => {
    const isStream = Buffer.concat(parts).includes('"stream":true');
    if (!isStream) {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(completion) });
      response.end(completion);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(chunk('Hello'));
    let sent = 0;
    const timer = setInterval(() => {
      sent++;
      if (sent < 5) {
        response.write(chunk(` token${sent}`));
        return;
      }
      clearInterval(timer);
      response.end('data: [DONE]\n\n');
    }, 5);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address !== null && typeof address === 'object') process.stdout.write(`http://127.0.0.1:${address.port}\n`);
});
