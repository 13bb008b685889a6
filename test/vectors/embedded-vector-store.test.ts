import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openEmbeddedVectorStore } from '../../src/vectors/embedded-vector-store.ts';
import { describeVectorStoreConformance } from './vector-store-conformance.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-vectors-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describeVectorStoreConformance('embedded (sqlite-vec)', async () => openEmbeddedVectorStore({ dataDir }));

describeVectorStoreConformance('embedded (sqlite-vec), searching on the event loop', async () =>
  openEmbeddedVectorStore({ dataDir, fileName: 'inline-vectors.db', searchInWorker: false }),
);
