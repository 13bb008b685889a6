import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Server kinds became one module each (docs/decisions/0009): a server may
 * carry settings for its kind (`kind_config`, the `custom` kind's API), and
 * llama.cpp is its own kind. Servers stored as `openai` that detection found
 * to be llama.cpp move to `llamacpp`; the flavour found them, so it goes.
 * JSON is read here rather than in SQL: the detection column is text on
 * both dialects, and JSON functions differ between them.
 */
export const serverKindModules: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('model_servers').addColumn('kind_config', 'text').execute();
    const servers = db as unknown as Kysely<{ model_servers: { id: string; server_type: string; detection: string | null } }>;
    const candidates = await servers.selectFrom('model_servers').select(['id', 'detection']).where('server_type', '=', 'openai').where('detection', 'is not', null).execute();
    for (const candidate of candidates) {
      const detection = parseDetection(candidate.detection);
      if (detection === null || detection['flavor'] !== 'llamacpp') continue;
      await servers
        .updateTable('model_servers')
        .set({ server_type: 'llamacpp', detection: JSON.stringify({ ...detection, flavor: null }) })
        .where('id', '=', candidate.id)
        .execute();
    }
  },
};

function parseDetection(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
