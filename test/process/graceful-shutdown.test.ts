import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { startOwnPostgres, type OwnPostgres } from '../support/own-postgres.ts';
import { startOwnRedisServer, type OwnRedisServer } from '../support/own-redis-server.ts';
import { waitUntil } from '../support/wait-until.ts';

const adminKey = 'sk-sy-graceful-shutdown-admin-key-0';
const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
// Twenty stream events, one every 100 ms: in flight for about two seconds after the first.
const longReply = Array.from({ length: 20 }, (_, index) => `word${index}`).join(' ');

let upstream: OpenAIFake;
const started: GatewayProcess[] = [];

beforeAll(async () => {
  upstream = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }], behaviour: { tokenIntervalMs: 100 } });
  upstream.setReply(longReply);
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((gateway) => (gateway.child.exitCode === null ? gateway.kill('SIGKILL') : gateway.exited)));
});

afterAll(async () => {
  await upstream.stop();
});

async function gatewayWithServer(env: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'sy-drain-'));
  const gateway = await spawnGateway({ SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_ADMIN_KEY: adminKey, SWITCHYARD_USAGE_FLUSH_MS: '60000', ...env });
  started.push(gateway);
  const created = await fetch(`${gateway.url}/api/v1/model-servers`, { method: 'POST', headers, body: JSON.stringify({ name: 'gpu', server_type: 'vllm', base_url: upstream.url }) });
  expect(created.status).toBe(201);
  await fetch(`${gateway.url}/api/v1/model-servers/health-check-all`, { method: 'POST', headers: { authorization: headers.authorization } });
  return { gateway, dataDir };
}

/** Starts a streamed chat and returns once its first bytes have arrived, with a way to read the rest. */
async function streamInFlight(gateway: GatewayProcess) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'yi34b', stream: true, messages: [{ role: 'user', content: 'go' }] }) });
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const first = await reader.read();
  let text = decoder.decode(first.value, { stream: true });
  const rest = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return { text, cut: false };
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      return { text, cut: true };
    }
  })();
  return { rest };
}

function usageCount(dataDir: string): number {
  const database = new BetterSqlite3(join(dataDir, 'switchyard.db'), { readonly: true });
  try {
    return (database.prepare('select count(*) as count from usage_records').get() as { count: number }).count;
  } finally {
    database.close();
  }
}

/** A fresh TCP connection (not one of fetch's pooled keep-alive sockets) is refused. */
function isRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** The signal is handled on the gateway's event loop: wait until it has been. */
async function terminate(gateway: GatewayProcess): Promise<void> {
  gateway.child.kill('SIGTERM');
  await waitUntil(() => gateway.output().includes('draining: /ready answers 503'), { what: 'the gateway to start draining' });
}

describe('SIGTERM drains instead of cutting', () => {
  it('lets a stream in flight finish ([DONE] received), refuses new connections, writes its usage record and exits 0', async () => {
    const { gateway, dataDir } = await gatewayWithServer();
    const { rest } = await streamInFlight(gateway);
    await terminate(gateway);
    // New connections are refused while the stream is still being relayed.
    await waitUntil(() => isRefused(gateway.url), { what: 'new connections to be refused' });
    const streamed = await rest;
    expect(streamed.cut).toBe(false);
    expect(streamed.text).toContain('word19');
    expect(streamed.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await gateway.exited).toBe(0);
    // The stream's usage record was flushed on the way out (the flush interval is a minute).
    expect(usageCount(dataDir)).toBe(1);
  });

  it('answers /ready with 503 at once while still serving during the shutdown delay, then exits 0', async () => {
    const { gateway } = await gatewayWithServer({ SWITCHYARD_SHUTDOWN_DELAY_MS: '8000' });
    expect((await fetch(`${gateway.url}/ready`)).status).toBe(200);
    await terminate(gateway);
    const ready = await fetch(`${gateway.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'draining' });
    // Liveness is not readiness: the process is healthy, just leaving.
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    expect(await gateway.exited).toBe(0);
  });

  it('cuts what is still streaming when the grace period is over, and still exits 0', async () => {
    const { gateway } = await gatewayWithServer({ SWITCHYARD_SHUTDOWN_GRACE_MS: '300' });
    upstream.setReply(Array.from({ length: 600 }, (_, index) => `slow${index}`).join(' '));
    try {
      const { rest } = await streamInFlight(gateway);
      gateway.child.kill('SIGTERM');
      const streamed = await rest;
      expect(streamed.text).not.toContain('[DONE]');
      expect(await gateway.exited).toBe(0);
    } finally {
      upstream.setReply(longReply);
    }
  });
});

describe('SIGTERM when the dependencies are already gone', () => {
  let database: OwnPostgres;
  let redis: OwnRedisServer;

  beforeAll(async () => {
    [database, redis] = await Promise.all([startOwnPostgres(), startOwnRedisServer()]);
  });

  afterAll(async () => {
    await redis?.stop();
    await database?.destroy();
  });

  it('exits 0 with PostgreSQL dead and Redis hung (connected, never answering)', async () => {
    const { gateway } = await gatewayWithServer({ DATABASE_URL: database.url, REDIS_URL: redis.url, SWITCHYARD_SHUTDOWN_GRACE_MS: '2000' });
    upstream.setReply('short answer');
    try {
      const answered = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] }) });
      expect(answered.status).toBe(200);
      await answered.arrayBuffer();
      await database.stop('immediate');
      redis.pause();
      gateway.child.kill('SIGTERM');
      expect(await gateway.exited).toBe(0);
      expect(gateway.output()).toMatch(/shutting down/);
    } finally {
      upstream.setReply(longReply);
    }
  });
});
