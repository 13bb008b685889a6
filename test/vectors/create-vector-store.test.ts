import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { createVectorStore } from '../../src/vectors/create-vector-store.ts';
import { startPgliteServer } from '../support/pglite-server.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-vector-factory-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function configFrom(env: Record<string, string>) {
  return loadConfig({ env: { SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_DISCOVER_LOCAL_OLLAMA: 'false', ...env } }).config;
}

function recordingLog() {
  const lines: unknown[] = [];
  const record = (...args: unknown[]) => void lines.push(args);
  return { log: { info: record, warn: record, error: record }, lines };
}

describe('choosing the vector backend', () => {
  it('is embedded by default, in the data directory', async () => {
    const { log, lines } = recordingLog();
    const store = await createVectorStore(configFrom({}), log);
    expect(store.backend).toBe('embedded');
    await store.ensureCollection({ name: 'general', vectorSize: 384, distance: 'cosine' });
    await store.close();
    expect(JSON.stringify(lines)).toContain(join(dataDir, 'vectors.db'));
  });

  it('refuses an unknown backend at start, naming the variable', () => {
    expect(() => configFrom({ SWITCHYARD_VECTOR_BACKEND: 'milvus' })).toThrow(/SWITCHYARD_VECTOR_BACKEND/);
  });

  it('takes pgvector from SWITCHYARD_VECTOR_DATABASE_URL over DATABASE_URL, and logs no password', async () => {
    const pglite = await startPgliteServer();
    try {
      const url = pglite.url.replace('postgres@', 'postgres:hunter2hunter2@');
      const { log, lines } = recordingLog();
      const store = await createVectorStore(
        configFrom({ SWITCHYARD_VECTOR_BACKEND: 'pgvector', SWITCHYARD_VECTOR_DATABASE_URL: url, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' }),
        log,
      );
      expect(store.backend).toBe('pgvector');
      await store.close();
      expect(JSON.stringify(lines)).not.toContain('hunter2');
    } finally {
      await pglite.stop();
    }
  });

  it('says what pgvector and qdrant need when their URL is missing', async () => {
    const { log } = recordingLog();
    await expect(createVectorStore(configFrom({ SWITCHYARD_VECTOR_BACKEND: 'pgvector' }), log)).rejects.toThrow(/SWITCHYARD_VECTOR_DATABASE_URL/);
    await expect(createVectorStore(configFrom({ SWITCHYARD_VECTOR_BACKEND: 'qdrant' }), log)).rejects.toThrow(/QDRANT_URL/);
  });

  it('stops when Qdrant does not answer, without showing its API key', async () => {
    const { log } = recordingLog();
    const error = (await createVectorStore(configFrom({ SWITCHYARD_VECTOR_BACKEND: 'qdrant', QDRANT_URL: 'http://127.0.0.1:1', QDRANT_API_KEY: 'sekrit-key-value' }), log).then(
      () => new Error('opened'),
      (caught: unknown) => caught,
    )) as Error;
    expect(error.message).toMatch(/Qdrant at http:\/\/127\.0\.0\.1:1 did not answer/);
    expect(error.message).not.toContain('sekrit');
  });
});
