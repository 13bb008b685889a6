import { join, resolve } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/config-schema.ts';
import { describePostgresUrl } from '../storage/open-database.ts';
import { openEmbeddedVectorStore } from './embedded-vector-store.ts';
import { openPgvectorStore } from './pgvector-vector-store.ts';
import { openQdrantStore } from './qdrant-vector-store.ts';
import type { VectorStore } from './vector-store.ts';

type Logger = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;

/**
 * The backend SWITCHYARD_VECTOR_BACKEND names, opened and checked: a pgvector
 * server without the extension, or a Qdrant that does not answer, stops the
 * start with an error saying so. Locations are logged without credentials.
 */
export async function createVectorStore(config: Pick<Config, 'vectors' | 'data_dir' | 'database_url'>, log: Logger): Promise<VectorStore> {
  const settings = config.vectors;
  switch (settings.backend) {
    case 'embedded': {
      const store = openEmbeddedVectorStore({ dataDir: config.data_dir });
      log.info({ backend: 'embedded', location: resolve(join(config.data_dir, 'vectors.db')) }, 'vector store opened');
      return store;
    }
    case 'pgvector': {
      const url = settings.database_url ?? config.database_url;
      if (url === undefined) {
        throw new Error('SWITCHYARD_VECTOR_BACKEND=pgvector needs a PostgreSQL: set SWITCHYARD_VECTOR_DATABASE_URL (or DATABASE_URL).');
      }
      const store = await openPgvectorStore({
        url,
        onConnectionError: (error) => log.warn({ err: { message: error.message } }, 'vector database connection failed'),
      });
      log.info({ backend: 'pgvector', location: describePostgresUrl(url) }, 'vector store opened');
      return store;
    }
    case 'qdrant': {
      if (settings.qdrant_url === undefined) throw new Error('SWITCHYARD_VECTOR_BACKEND=qdrant needs QDRANT_URL.');
      const store = await openQdrantStore({ url: settings.qdrant_url, apiKey: settings.qdrant_api_key });
      log.info({ backend: 'qdrant', location: describePostgresUrl(settings.qdrant_url) }, 'vector store opened');
      return store;
    }
  }
}
