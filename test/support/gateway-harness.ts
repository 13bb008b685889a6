import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load-config.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { dropSchema, postgresUrl, uniqueSchema } from './postgres.ts';

export const adminKey = 'sk-sy-test-admin-key-0123456789abcdef';

export interface TestGateway {
  gateway: Gateway;
  url: string;
  dataDir: string;
  logs: string[];
  api: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiResponse>;
  stop: () => Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // Tests read parsed JSON freely; the gateway itself never uses `any`.
  body: any;
  text: string;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  overrides?: Record<string, unknown>;
  configFile?: string;
  postgres?: boolean;
  /** PostgreSQL in this schema, shared with other gateways (replicas); the caller drops it. */
  postgresSchema?: string;
  startScheduler?: boolean;
  dataDir?: string;
  /** The clock rate-limit windows follow (epoch ms). */
  clock?: () => number;
}

/** The real gateway on an ephemeral loopback port, with its logs captured. */
export async function startTestGateway(options: HarnessOptions = {}): Promise<TestGateway> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'switchyard-test-'));
  const schema = options.postgresSchema ?? (options.postgres === true ? uniqueSchema('sy_gateway') : undefined);
  const env: Record<string, string> = {
    SWITCHYARD_ADMIN_KEY: adminKey,
    SWITCHYARD_DATA_DIR: dataDir,
    SWITCHYARD_PORT: '0',
    SWITCHYARD_HOST: '127.0.0.1',
    SWITCHYARD_DISCOVER_LOCAL_OLLAMA: 'false',
    SWITCHYARD_LOG_LEVEL: 'info',
    SWITCHYARD_HEALTH_TIMEOUT_MS: '1000',
    // Tests that stop with a request left hanging need not wait the production grace period.
    SWITCHYARD_SHUTDOWN_GRACE_MS: '2000',
    ...(schema === undefined ? {} : { DATABASE_URL: postgresUrl }),
    ...options.env,
  };
  const loaded = loadConfig({ env, ...(options.configFile === undefined ? {} : { configFile: options.configFile }), ...(options.overrides === undefined ? {} : { overrides: options.overrides }) });
  const logs: string[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  const gateway = await startGateway(loaded, {
    logDestination,
    startScheduler: options.startScheduler ?? false,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(schema === undefined ? {} : { postgresSchema: schema }),
  });
  const url = gateway.url;
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${adminKey}`, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${url}${path}`, init);
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };
  return {
    gateway,
    url,
    dataDir,
    logs,
    api,
    stop: async () => {
      await gateway.close();
      if (schema !== undefined && options.postgresSchema === undefined) await dropSchema(schema);
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
