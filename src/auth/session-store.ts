import { randomBytes } from 'node:crypto';

const lifetimeMs = 12 * 3_600_000;
const maxSessions = 10_000;

/**
 * Console sessions: an opaque id in an httpOnly, SameSite=Strict cookie maps
 * to the key that signed in. The key itself never reaches the browser's
 * JavaScript; revoking the key ends its sessions (the key is looked up anew).
 */
export class SessionStore {
  readonly #sessions = new Map<string, { keyId: string; expiresAt: number }>();

  create(keyId: string): string {
    if (this.#sessions.size >= maxSessions) this.#sweep();
    const id = randomBytes(32).toString('base64url');
    this.#sessions.set(id, { keyId, expiresAt: Date.now() + lifetimeMs });
    return id;
  }

  keyIdOf(id: string): string | null {
    const session = this.#sessions.get(id);
    if (session === undefined) return null;
    if (session.expiresAt <= Date.now()) {
      this.#sessions.delete(id);
      return null;
    }
    return session.keyId;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, session] of this.#sessions) if (session.expiresAt <= now) this.#sessions.delete(id);
    if (this.#sessions.size >= maxSessions) this.#sessions.delete(this.#sessions.keys().next().value as string);
  }
}

export const sessionCookie = 'sy_session';
export const sessionLifetimeSeconds = lifetimeMs / 1000;
