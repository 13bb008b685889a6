import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFleetFile, toFleetModel } from '../../src/config/fleet-file.ts';

describe('parseFleetFile', () => {
  it('reads servers with models given as names or objects', () => {
    const fleet = parseFleetFile(
      `servers:
  - name: gpu-1
    server_type: vllm
    base_url: http://10.0.0.2:8000
    models:
      - yi34b
      - name: deepcoder
        capabilities: [chat, code]
        embedding_dimension: 1024
`,
      'fleet.yaml',
      {},
    );
    const server = fleet.servers[0];
    expect(server?.server_type).toBe('vllm');
    expect(server?.models?.map(toFleetModel)).toEqual([
      { name: 'yi34b' },
      { name: 'deepcoder', capabilities: ['chat', 'code'], embedding_dimension: 1024 },
    ]);
  });

  it('fills ${VAR} and ${VAR:-default} from the environment so keys stay out of git', () => {
    const fleet = parseFleetFile(
      'servers:\n  - name: a\n    base_url: ${BASE:-http://localhost:11434}\n    api_key: ${KEY}\n',
      'fleet.yaml',
      { KEY: 'secret-value' },
    );
    expect(fleet.servers[0]).toMatchObject({ base_url: 'http://localhost:11434', api_key: 'secret-value' });
  });

  it('names a missing environment variable', () => {
    expect(() => parseFleetFile('servers:\n  - name: a\n    base_url: x\n    api_key: ${MISSING_KEY}\n', 'f.yaml', {})).toThrow(
      /f.yaml: environment variable MISSING_KEY is not set/,
    );
  });

  it('rejects an unknown server type, an unknown key, duplicate names and broken YAML with the place named', () => {
    expect(() => parseFleetFile('servers:\n  - name: a\n    server_type: tgi\n    base_url: http://x\n', 'f.yaml', {})).toThrow(/servers\.0\.server_type/);
    expect(() => parseFleetFile('servers:\n  - name: a\n    base_url: http://x\n    colour: red\n', 'f.yaml', {})).toThrow(/servers\.0/);
    expect(() => parseFleetFile('servers:\n  - {name: a, base_url: "http://x"}\n  - {name: a, base_url: "http://y"}\n', 'f.yaml', {})).toThrow(/appears twice/);
    expect(() => parseFleetFile('servers: [\n', 'f.yaml', {})).toThrow(/not valid YAML/);
  });

  it('describes the nine-model example fleet: three servers, nine models, their embedding sizes', () => {
    const text = readFileSync(new URL('../../examples/fleet.yaml', import.meta.url), 'utf8');
    const fleet = parseFleetFile(text, 'examples/fleet.yaml', {});
    expect(fleet.servers).toHaveLength(3);
    expect(fleet.routes.map((route) => route.name)).toEqual(['gpt-4o', 'code', 'light']);
    const models = fleet.servers.flatMap((server) => (server.models ?? []).map(toFleetModel));
    const sizes = Object.fromEntries(models.map((model) => [model.name, model.embedding_dimension]));
    expect(sizes).toEqual({
      mixtral: 4096,
      hermes: 4096,
      openchat: 4096,
      phi3: 2048,
      yi34b: 4096,
      deepseek: 4096,
      deepcoder: 1024,
      imp: 2048,
      general: 384,
    });
    expect(models.find((model) => model.name === 'general')?.capabilities).toEqual(['embedding']);
    expect(models.find((model) => model.name === 'deepcoder')?.capabilities).toContain('code');
  });

  it('maps every model of the example fleet to a vector collection of its size, and its chat models may embed', () => {
    const fleet = parseFleetFile(readFileSync(new URL('../../examples/fleet.yaml', import.meta.url), 'utf8'), 'examples/fleet.yaml', {});
    const sizes = Object.fromEntries(Object.entries(fleet.collections).map(([name, entry]) => [name, { model: entry.model, size: entry.vector_size }]));
    expect(sizes).toEqual({
      mixtral: { model: 'mixtral', size: 4096 },
      hermes: { model: 'hermes', size: 4096 },
      openchat: { model: 'openchat', size: 4096 },
      phi3: { model: 'phi3', size: 2048 },
      yi34b: { model: 'yi34b', size: 4096 },
      deepseek: { model: 'deepseek', size: 4096 },
      deepcoder: { model: 'deepcoder', size: 1024 },
      imp: { model: 'imp', size: 2048 },
      general: { model: 'general', size: 384 },
    });
    expect(fleet.collections['mixtral']?.distance).toBe('cosine');
    const models = fleet.servers.flatMap((server) => (server.models ?? []).map(toFleetModel));
    for (const model of models) expect(model.capabilities, model.name).toContain('embedding');
  });

  it('reads the collections section as the vector-database team writes it, and names a bad entry', () => {
    const fleet = parseFleetFile('collections:\n  mixtral: { model: mixtral, vector_size: 4096, distance: cosine }\n  general: { model: general, vector_size: 384 }\n', 'f.yaml', {});
    expect(fleet.collections).toEqual({ mixtral: { model: 'mixtral', vector_size: 4096, distance: 'cosine' }, general: { model: 'general', vector_size: 384 } });
    expect(parseFleetFile('servers: []\n', 'f.yaml', {}).collections).toEqual({});
    expect(() => parseFleetFile('collections:\n  a: { model: m, vector_size: 0 }\n', 'f.yaml', {})).toThrow(/collections\.a\.vector_size/);
    expect(() => parseFleetFile('collections:\n  a: { model: m, distance: manhattan }\n', 'f.yaml', {})).toThrow(/collections\.a\.distance/);
    expect(() => parseFleetFile('collections:\n  a: { model: m, size: 3 }\n', 'f.yaml', {})).toThrow(/collections\.a/);
    expect(() => parseFleetFile('collections:\n  a: { vector_size: 3 }\n', 'f.yaml', {})).toThrow(/collections\.a/);
  });
});
