import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { GatewaySocket, SocketCounts } from '../../src/http/websocket/gateway-socket.ts';
import { KeyRing } from '../../src/auth/key-ring.ts';

/** The parts of a ws socket GatewaySocket uses, with a send queue the test controls. */
class QueuedSocket extends EventEmitter {
  readonly OPEN = 1;
  readonly CONNECTING = 0;
  readyState = 1;
  bufferedAmount = 0;
  sent: string[] = [];
  closedWith: { code: number; reason: string } | null = null;
  send(data: string): void {
    this.sent.push(data);
    // Nothing is read on the other side: every byte stays queued.
    this.bufferedAmount += Buffer.byteLength(data);
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
    this.emit('close', code, Buffer.from(reason));
  }
  ping(): void {}
  terminate(): void {
    this.close(1006, '');
  }
}

const settings = { max_sockets_per_key: 2, ping_interval_ms: 60_000, auth_timeout_ms: 1_000, max_buffered_bytes: 1_024, max_conversations: 8 };

describe('a WebSocket client that does not read', () => {
  it('is closed with 1013 once more than the bound is queued for it, never buffered without end', () => {
    const raw = new QueuedSocket();
    const socket = new GatewaySocket(raw as unknown as WebSocket, { keyRing: new KeyRing(Buffer.alloc(32)), settings, counts: new SocketCounts() });
    const delta = { type: 'delta', id: 'a', content: 'x'.repeat(100) };
    let sent = 0;
    while (socket.send(delta)) sent++;
    expect(raw.closedWith?.code).toBe(1013);
    expect(socket.closed.aborted).toBe(true);
    // It stopped just past the bound: what was queued is about the bound, not the whole stream.
    expect(raw.bufferedAmount).toBeGreaterThan(settings.max_buffered_bytes);
    expect(raw.bufferedAmount).toBeLessThan(settings.max_buffered_bytes + 200);
    expect(raw.sent).toHaveLength(sent);
    expect(socket.send(delta)).toBe(false);
  });
});

describe('sockets per key', () => {
  it('counts up to the limit, and frees a slot on release', () => {
    const counts = new SocketCounts();
    expect(counts.take('k', 2)).toBe(true);
    expect(counts.take('k', 2)).toBe(true);
    expect(counts.take('k', 2)).toBe(false);
    expect(counts.take('other', 2)).toBe(true);
    counts.release('k');
    expect(counts.take('k', 2)).toBe(true);
  });
});
