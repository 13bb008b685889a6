import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

/**
 * Stops the HTTP side without cutting what is in flight: no new connections,
 * idle keep-alive connections closed (again and again, as requests finish),
 * in-flight requests and streams allowed `graceMs` to end, then whatever is
 * left is cut. Resolves once every connection is gone.
 */
export async function closeGracefully(app: FastifyInstance, options: { graceMs: number; log: FastifyBaseLogger }): Promise<void> {
  const server = app.server;
  // A keep-alive connection whose request ends during the drain turns idle
  // after server.close() has already reaped the idle ones: reap again.
  const reaper = setInterval(() => server.closeIdleConnections(), 100);
  reaper.unref();
  const cut = setTimeout(() => {
    options.log.warn({ graceMs: options.graceMs }, 'shutdown grace period over: cutting the connections still open');
    server.closeAllConnections();
  }, options.graceMs);
  cut.unref();
  try {
    await app.close();
  } finally {
    clearInterval(reaper);
    clearTimeout(cut);
  }
}
