import { createServer, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { errors } from '../../errors/error-catalogue.ts';
import { errorShapeFor, writeError } from '../../errors/error-reply.ts';

export interface StartingListener {
  /** The port it holds (the gateway takes the same one when it was asked for port 0). */
  port: number;
  /** Frees the port for the gateway; open connections are closed. */
  close(): Promise<void>;
}

/** How long a client is asked to wait before trying again. */
const retryAfterMs = 5_000;

/**
 * What answers on the gateway's port while it waits for its database
 * (decision 0034): liveness stays green so an orchestrator does not restart a
 * process that is only waiting, readiness is 503 so no load balancer sends it
 * traffic, and any other request gets SY_STARTING in its API's own error shape.
 */
export async function listenWhileStarting(host: string, port: number, reason: string): Promise<StartingListener> {
  const server: Server = createServer((request, response) => {
    const path = request.url ?? '/';
    const requestId = randomUUID();
    if (request.method === 'GET' && (path === '/health' || path.startsWith('/health?'))) return json(response, 200, { status: 'starting', checks: { storage: reason } });
    if (request.method === 'GET' && (path === '/ready' || path.startsWith('/ready?'))) return json(response, 503, { status: 'starting', checks: { storage: reason } });
    // Someone opening the console sees why it is not there yet; the page reloads itself.
    if (request.method === 'GET' && (path === '/' || path.startsWith('/ui'))) return page(response, reason);
    // Whatever the body is, it is not read: close the connection after the answer.
    writeError(response, errors.starting(retryAfterMs), { shape: errorShapeFor(path), requestId, headers: { connection: 'close' } });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function page(response: ServerResponse, reason: string): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="${retryAfterMs / 1000}"><title>Switchyard is starting</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:15vh auto;max-width:34rem;color:#1f2933}h1{font-size:1.3rem}code{background:#eef2f6;padding:0 .3em}</style></head>
<body><main data-testid="starting">
<h1>Switchyard is starting</h1>
<p>It is waiting for its database, which is <strong data-testid="starting-storage">${reason}</strong>. Until the database answers, requests get <code>SY_STARTING</code> (503, try again in ${retryAfterMs / 1000} s); usage an earlier run could not write waits on disk and is written once it does.</p>
<p>This page reloads every ${retryAfterMs / 1000} seconds and becomes the console once the gateway has started. The gateway's log says which database it is trying.</p>
</main></body></html>`;
  response.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store', 'retry-after': String(retryAfterMs / 1000) });
  response.end(html);
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(text);
}
