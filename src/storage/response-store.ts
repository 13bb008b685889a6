import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { DatabaseSchema } from './database-schema.ts';
import { readJson, writeJson } from './json-column.ts';

type Json = Record<string, unknown>;

/** A Responses API answer kept for reading and continuing: only its key may do either. */
export interface StoredResponse {
  id: string;
  keyId: string | null;
  /** Epoch ms. */
  createdAt: number;
  expiresAt: number;
  /** The Response object as the caller received it. */
  response: Json;
  /** The request's input items, normalised (for `GET /v1/responses/{id}/input_items`). */
  inputItems: Json[];
  /** The whole conversation up to and including this answer, as chat messages (without the instructions). */
  conversation: Json[];
}

/** Written behind, but never more than this many at once in memory (a storage outage drops the oldest, logged). */
const maxPending = 10_000;
/** The most recently written, kept to answer continuations without a read (and through a short storage outage). */
const maxRecent = 256;

/**
 * Stored responses, written off the request path. A response is readable
 * from the moment it is put (a client continues a conversation the moment
 * its answer ends, before the write has landed): the pending ones answer
 * from memory until written, and the last few hundred written ones stay
 * there too (a conversation's next turn needs no read, even while storage is
 * away). Expired ones are never answered and pruned.
 */
export class ResponseStore {
  readonly #db: Kysely<DatabaseSchema>;
  readonly #log: FastifyBaseLogger;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #pending = new Map<string, StoredResponse>();
  readonly #recent = new Map<string, StoredResponse>();
  #flushing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  #lastPrune = 0;
  #failing = false;

  constructor(options: { db: Kysely<DatabaseSchema>; log: FastifyBaseLogger; ttlHours: number; now?: () => number }) {
    this.#db = options.db;
    this.#log = options.log;
    this.#ttlMs = options.ttlHours * 3_600_000;
    this.#now = options.now ?? Date.now;
  }

  start(flushMs = 250): void {
    this.#timer ??= setInterval(() => void this.flush(), flushMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.flush();
  }

  /** Keeps a response (in memory at once, in storage at the next flush). */
  put(entry: Omit<StoredResponse, 'expiresAt' | 'createdAt'>): void {
    const now = this.#now();
    if (this.#pending.size >= maxPending) {
      const oldest = this.#pending.keys().next().value as string;
      this.#pending.delete(oldest);
      this.#log.warn({ dropped: oldest }, 'stored response dropped: too many waiting for storage');
    }
    this.#pending.set(entry.id, { ...entry, createdAt: now, expiresAt: now + this.#ttlMs });
  }

  /** The response if it exists, has not expired and belongs to `keyId`; null otherwise (another key's is as good as absent). */
  async get(id: string, keyId: string | null): Promise<StoredResponse | null> {
    const entry = this.#pending.get(id) ?? this.#touchRecent(id) ?? (await this.#read(id));
    if (entry === null || entry.keyId !== keyId || entry.expiresAt <= this.#now()) return null;
    return entry;
  }

  /** Deletes the key's own response; false when there is none to delete. */
  async delete(id: string, keyId: string | null): Promise<boolean> {
    if ((await this.get(id, keyId)) === null) return false;
    this.#pending.delete(id);
    this.#recent.delete(id);
    await this.#db.deleteFrom('stored_responses').where('id', '=', id).execute();
    return true;
  }

  /** Writes what is pending; flushes never overlap. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  /** A recently written response, moved to the most recent end (least recently used leaves first). */
  #touchRecent(id: string): StoredResponse | undefined {
    const entry = this.#recent.get(id);
    if (entry !== undefined) {
      this.#recent.delete(id);
      this.#recent.set(id, entry);
    }
    return entry;
  }

  #remember(entry: StoredResponse): void {
    this.#recent.set(entry.id, entry);
    if (this.#recent.size > maxRecent) this.#recent.delete(this.#recent.keys().next().value as string);
  }

  async #read(id: string): Promise<StoredResponse | null> {
    const row = await this.#db.selectFrom('stored_responses').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) return null;
    const body = readJson<{ response: Json; input_items: Json[]; conversation: Json[] } | null>(row.body, null);
    if (body === null) return null;
    return { id: row.id, keyId: row.key_id, createdAt: Date.parse(row.created_at), expiresAt: Date.parse(row.expires_at), response: body.response, inputItems: body.input_items, conversation: body.conversation };
  }

  async #write(): Promise<void> {
    const batch = [...this.#pending.values()];
    if (batch.length > 0) {
      try {
        await this.#db
          .insertInto('stored_responses')
          .values(batch.map((entry) => ({ id: entry.id, key_id: entry.keyId, created_at: new Date(entry.createdAt).toISOString(), expires_at: new Date(entry.expiresAt).toISOString(), body: writeJson({ response: entry.response, input_items: entry.inputItems, conversation: entry.conversation }) })))
          .onConflict((conflict) => conflict.column('id').doNothing())
          .execute();
        // Only what was written leaves memory: one put while writing stays for the next flush.
        for (const entry of batch) {
          if (this.#pending.get(entry.id) !== entry) continue;
          this.#pending.delete(entry.id);
          this.#remember(entry);
        }
        if (this.#failing) this.#log.info({ written: batch.length }, 'stored responses written again after a storage failure');
        this.#failing = false;
      } catch (error) {
        if (!this.#failing) this.#log.warn({ err: error instanceof Error ? error.message : 'unknown', pending: this.#pending.size }, 'could not write stored responses; they stay readable from memory and are retried');
        this.#failing = true;
        return;
      }
    }
    if (this.#now() - this.#lastPrune > 600_000) {
      this.#lastPrune = this.#now();
      await this.#db.deleteFrom('stored_responses').where('expires_at', '<', new Date(this.#now()).toISOString()).execute().catch(() => undefined);
    }
  }
}
