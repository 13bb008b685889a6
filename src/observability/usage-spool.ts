import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { UsageRecordsTable } from '../storage/database-schema.ts';

/**
 * Usage records that storage would not take, kept on local disk until it is
 * back (decision 0029). The spool is a directory of append-only segment files,
 * one JSON line per record, each append fsynced before it returns: once a
 * batch has left the in-memory queue for the spool, a `kill -9` or a power
 * cut does not lose it.
 *
 * Segments are named so that their names sort in the order they were written;
 * replay goes oldest first and removes a segment only after storage has
 * committed every record in it. A crash between that commit and the removal
 * replays the segment again, which is harmless: records carry stable ids and
 * both dialects insert them with on-conflict-do-nothing.
 *
 * A process never appends to a segment an earlier process wrote: a segment cut
 * short by a crash (a torn last line) stays as it is, and replay skips that
 * line with a warning.
 */
export class UsageSpool {
  readonly directory: string;
  readonly #log: FastifyBaseLogger;
  readonly #maxBytes: number;
  readonly #segmentBytes: number;
  /** The segment this process appends to, until it is full or replayed. */
  #active: { name: string; handle: FileHandle; bytes: number } | null = null;
  #records = 0;
  #bytes = 0;
  #sequence = 0;

  constructor(options: { directory: string; log: FastifyBaseLogger; maxBytes: number; segmentBytes?: number }) {
    this.directory = options.directory;
    this.#log = options.log;
    this.#maxBytes = options.maxBytes;
    this.#segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
    mkdirSync(this.directory, { recursive: true });
    // What an earlier run left: counted now, so the gauge shows it before the first replay.
    for (const name of this.#segments()) {
      const content = readFileSync(join(this.directory, name));
      this.#bytes += statSync(join(this.directory, name)).size;
      this.#records += countLines(content);
    }
  }

  /** Records waiting in the spool (a torn last line counts as one until replay skips it). */
  get records(): number {
    return this.#records;
  }

  get isEmpty(): boolean {
    return this.#records === 0;
  }

  /**
   * Appends the rows and fsyncs them. False (nothing written that counts) when
   * the spool is at its bound or the disk fails: the caller keeps the rows.
   */
  async append(rows: readonly UsageRecordsTable[]): Promise<boolean> {
    if (rows.length === 0) return true;
    const text = rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
    const bytes = Buffer.byteLength(text);
    if (this.#bytes + bytes > this.#maxBytes) return false;
    try {
      if (this.#active !== null && this.#active.bytes >= this.#segmentBytes) await this.#closeActive();
      const active = this.#active ?? (await this.#openSegment());
      await active.handle.appendFile(text);
      await active.handle.sync();
      active.bytes += bytes;
    } catch (error) {
      this.#log.error({ err: error instanceof Error ? error.message : 'unknown', directory: this.directory }, 'could not write usage records to the spool');
      // A partial write is a torn line at worst: start afresh in a new segment.
      await this.#closeActive().catch(() => undefined);
      return false;
    }
    this.#bytes += bytes;
    this.#records += rows.length;
    return true;
  }

  /**
   * Hands every spooled record to `insert`, oldest segment first, in chunks,
   * and removes each segment once all its chunks are committed. Stops at the
   * first chunk `insert` rejects with an error `isUnavailable` recognises
   * (storage went away again) and rethrows it; a segment whose records
   * storage refuses for another reason is set aside as `*.rejected`, loudly.
   * Returns how many records were handed over.
   */
  async replay(insert: (rows: UsageRecordsTable[]) => Promise<void>, isUnavailable: (error: unknown) => boolean, chunkSize = 500): Promise<number> {
    let replayed = 0;
    for (const name of this.#segments()) {
      if (this.#active?.name === name) await this.#closeActive();
      const path = join(this.directory, name);
      const content = await readFile(path);
      const { rows, torn } = parseSegment(content.toString('utf8'));
      if (torn > 0) this.#log.warn({ segment: name, skipped: torn }, 'skipped usage spool lines that were cut short (a crash while writing); the rest of the segment is replayed');
      try {
        for (let index = 0; index < rows.length; index += chunkSize) await insert(rows.slice(index, index + chunkSize));
      } catch (error) {
        if (isUnavailable(error)) throw error;
        this.#log.error({ err: error instanceof Error ? error.message : 'unknown', segment: name, records: rows.length }, 'storage refused spooled usage records; the segment is set aside as .rejected for a person to inspect');
        await rename(path, `${path}.rejected`);
        this.#forget(content.length, countLines(content));
        continue;
      }
      await unlink(path);
      replayed += rows.length;
      this.#forget(content.length, countLines(content));
    }
    return replayed;
  }

  async close(): Promise<void> {
    await this.#closeActive();
  }

  #forget(bytes: number, records: number): void {
    this.#bytes = Math.max(0, this.#bytes - bytes);
    this.#records = Math.max(0, this.#records - records);
  }

  #segments(): string[] {
    return readdirSync(this.directory).filter((name) => name.endsWith(segmentSuffix)).sort();
  }

  async #openSegment(): Promise<{ name: string; handle: FileHandle; bytes: number }> {
    // Time first, zero-padded, then a sequence: names sort in the order segments were opened.
    const name = `usage-${String(Date.now()).padStart(15, '0')}-${String(this.#sequence++).padStart(6, '0')}-${process.pid}${segmentSuffix}`;
    const handle = await open(join(this.directory, name), 'a');
    // The new directory entry must survive a power cut too, not only the file's bytes.
    const directory = await open(this.directory, 'r');
    await directory.sync().finally(() => directory.close());
    this.#active = { name, handle, bytes: 0 };
    return this.#active;
  }

  async #closeActive(): Promise<void> {
    const active = this.#active;
    this.#active = null;
    if (active !== null) await active.handle.close();
  }
}

const segmentSuffix = '.jsonl';

function countLines(content: Buffer): number {
  let count = 0;
  for (let index = content.indexOf(10); index !== -1; index = content.indexOf(10, index + 1)) count++;
  // A last line without its newline (cut short) still takes a place until replay looks at it.
  if (content.length > 0 && content[content.length - 1] !== 10) count++;
  return count;
}

/** The records of one segment; lines that are not a whole record (a torn last line) are counted, not fatal. */
export function parseSegment(text: string): { rows: UsageRecordsTable[]; torn: number } {
  const rows: UsageRecordsTable[] = [];
  let torn = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const row = parseRow(line);
    if (row === null) torn++;
    else rows.push(row);
  }
  return { rows, torn };
}

function parseRow(line: string): UsageRecordsTable | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const row = value as Record<string, unknown>;
  if (typeof row['id'] !== 'string' || typeof row['occurred_at'] !== 'string' || typeof row['request_id'] !== 'string' || typeof row['status'] !== 'number') return null;
  return row as unknown as UsageRecordsTable;
}
