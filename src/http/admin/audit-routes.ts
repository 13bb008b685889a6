import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errors } from '../../errors/error-catalogue.ts';
import type { AuditStore } from '../../storage/audit-store.ts';
import { readJson } from '../../storage/json-column.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Audit log'];

const AuditQuery = Type.Object(
  {
    action: Type.Optional(Type.String({ maxLength: 100 })),
    target_type: Type.Optional(Type.String({ maxLength: 50 })),
    target_id: Type.Optional(Type.String({ maxLength: 100 })),
    actor: Type.Optional(Type.String({ maxLength: 100 })),
    from: Type.Optional(Type.String({ maxLength: 64 })),
    to: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Optional(Type.String({ maxLength: 5 })),
    cursor: Type.Optional(Type.String({ maxLength: 300 })),
  },
  { additionalProperties: false },
);

/** `GET /api/v1/audit`: every admin change, newest first, with filters and cursor pagination. */
export async function auditRoutes(instance: FastifyInstance, dependencies: { audit: AuditStore }): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/audit', { schema: { tags, summary: 'The audit log of changes', querystring: AuditQuery } }, async (request) => {
    const query = request.query;
    const limit = query.limit === undefined ? 50 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw errors.invalidRequest('limit must be an integer from 1 to 500.', 'limit');
    const time = (value: string | undefined, param: string) => {
      if (value === undefined) return undefined;
      const parsed = Date.parse(value);
      if (Number.isNaN(parsed)) throw errors.invalidRequest(`${param} must be an ISO-8601 time.`, param);
      return new Date(parsed).toISOString();
    };
    let before: { occurredAt: string; id: string } | undefined;
    if (query.cursor !== undefined) {
      const [occurredAt, id] = Buffer.from(query.cursor, 'base64url').toString('utf8').split('|');
      if (occurredAt === undefined || id === undefined) throw errors.invalidRequest('cursor is not one this API gave out.', 'cursor');
      before = { occurredAt, id };
    }
    const rows = await dependencies.audit.list({
      ...(query.action === undefined ? {} : { action: query.action }),
      ...(query.target_type === undefined ? {} : { targetType: query.target_type }),
      ...(query.target_id === undefined ? {} : { targetId: query.target_id }),
      ...(query.actor === undefined ? {} : { actorKeyId: query.actor }),
      ...(query.from === undefined ? {} : { from: time(query.from, 'from') as string }),
      ...(query.to === undefined ? {} : { to: time(query.to, 'to') as string }),
      ...(before === undefined ? {} : { before }),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      data: page.map((row) => ({
        id: row.id,
        at: row.occurred_at,
        actor_key_id: row.actor_key_id,
        action: row.action,
        target_type: row.target_type,
        target_id: row.target_id,
        before: readJson<unknown>(row.before_state, null),
        after: readJson<unknown>(row.after_state, null),
        request_id: row.request_id,
        source_ip: row.source_ip,
      })),
      next_cursor: rows.length > limit && last !== undefined ? Buffer.from(`${last.occurred_at}|${last.id}`).toString('base64url') : null,
    };
  });
}
