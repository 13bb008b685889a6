// The floor any Node proxy pays: a bare pass-through (node:http in, an undici
// keep-alive pool out, bodies piped, nothing checked or recorded). The bench
// compares Switchyard with it, so "added latency" separates what a proxy on
// this runtime costs at all from what Switchyard's own work adds. Prints its URL.
import { createServer } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';

const target = process.argv[2];
if (target === undefined) throw new Error('usage: bare-proxy.ts <upstream url>');
const pool = new Pool(target, { connections: 256, keepAliveTimeout: 30_000, pipelining: 1 });

const server = createServer((request, response) => {
  pool
    .request({
      path: request.url ?? '/',
      method: request.method as 'POST',
      headers: { 'content-type': request.headers['content-type'] ?? 'application/json' },
      body: request.method === 'GET' || request.method === 'HEAD' ? null : request,
    })
    .then(async (answer) => {
      response.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? 'application/json') });
      await pipeline(answer.body, response);
    })
    .catch(() => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address !== null && typeof address === 'object') process.stdout.write(`http://127.0.0.1:${address.port}\n`);
});
