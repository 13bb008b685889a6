import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface PgliteServer {
  /** postgres://… for `pg`. */
  url: string;
  stop(): Promise<void>;
}

/**
 * PostgreSQL compiled to WASM (PGlite) with the real pgvector extension,
 * served over the PostgreSQL wire protocol on a free 127.0.0.1 port: the
 * pgvector backend's tests and benchmark run its real SQL through `pg`
 * where the machine's PostgreSQL has no pgvector.
 *
 * PGlite is one backend session: every connection shares it, and messages
 * from two connections can interleave between a statement's Parse and Bind.
 * Clients connect with a pool of one.
 */
export async function startPgliteServer(): Promise<PgliteServer> {
  const db = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  return {
    url,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
