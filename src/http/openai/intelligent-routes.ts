import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type {} from '@fastify/swagger';
import type { Principal } from '../../auth/key-ring.ts';
import { isModelAllowed } from '../../auth/model-allow-list.ts';
import type { Operation } from '../../data/adapters/inference-mapping.ts';
import { parseAutoModel, selectAutoModel, type AutoChoice, type AutoWeights } from '../../data/routing/auto-select.ts';
import type { ModelIndex } from '../../data/routing/model-index.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { ClientDialect, StreamFailure } from '../dialects/client-dialect.ts';
import type { InferenceFrontDoor } from '../dialects/front-door.ts';
import { steeringFields } from './openai-schemas.ts';

export interface IntelligentRouteDependencies {
  frontDoor: InferenceFrontDoor;
  index: ModelIndex;
  bodyLimit: number;
}

const open = { additionalProperties: true } as const;
const priorityWeight = Type.Optional(Type.Number({ minimum: 0, maximum: 100 }));
const IntelligentBody = Type.Object({ model: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })), quality_priority: priorityWeight, speed_priority: priorityWeight, stream: Type.Optional(Type.Boolean()) }, open);

const endpoints: ReadonlyArray<readonly [path: string, operation: Operation, what: string]> = [
  ['/chat/completions/intelligent', 'chat', 'a chat completion'],
  ['/completions/intelligent', 'completion', 'a completion'],
  ['/embeddings/intelligent', 'embeddings', 'embeddings'],
];

type Selection = { recommended_model: string; selection_reasoning: string; model_score: number | null };

/**
 * The integration teams' "intelligent" endpoints: OpenAI's request with the
 * model chosen by Switchyard as `model: "auto"` chooses it (the same
 * selection), weighted by `quality_priority` and `speed_priority`, answered
 * with OpenAI's answer plus `model_selection` and `performance_metrics`.
 */
export async function intelligentRoutes(instance: FastifyInstance, dependencies: IntelligentRouteDependencies): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { frontDoor, index, bodyLimit } = dependencies;
  frontDoor.recordRefusals(app);
  for (const [path, operation, what] of endpoints) {
    const summary = `Create ${what} with an automatically chosen model`;
    const description = 'As the OpenAI endpoint, with `model` optional (or `auto`): the model is chosen as `model: "auto"` chooses, weighted by `quality_priority` and `speed_priority` (any non-negative numbers; equal by default). The answer adds `model_selection {recommended_model, selection_reasoning, model_score}` and `performance_metrics {response_time (ms), model_location (server)}`. Needs the `inference` scope.';
    app.post(path, { bodyLimit, schema: { body: IntelligentBody, summary, description, tags: ['OpenAI-compatible API'] }, config: { operation, api: 'openai' } }, async (request, reply) => {
      const startedAt = performance.now();
      const body = { ...(request.body as Record<string, unknown>) };
      for (const field of steeringFields) delete body[field];
      const weights = weightsOf(body['quality_priority'], body['speed_priority']);
      delete body['quality_priority'];
      delete body['speed_priority'];
      const requested = typeof body['model'] === 'string' ? body['model'] : 'auto';
      const priority = parseAutoModel(requested, body['priority']);
      delete body['priority'];
      let selection: Selection;
      if (priority === null) {
        selection = { recommended_model: requested, selection_reasoning: 'named by the caller', model_score: null };
      } else {
        const allowList = (request.principal as Principal).models;
        const choice: AutoChoice | null = selectAutoModel(operation, body, priority, index, Date.now(), allowList === null ? () => true : (name) => isModelAllowed(allowList, name), weights ?? undefined);
        if (choice === null) throw errors.noModelForAuto(operation);
        selection = { recommended_model: choice.model, selection_reasoning: choice.reason, model_score: choice.score };
      }
      body['model'] = selection.recommended_model;
      return frontDoor.serve(request, reply, { operation, api: 'openai', body, stream: body['stream'] === true, dialect: intelligentDialect(selection, startedAt) });
    });
  }
}

/** Both absent: null (the priority's default balance); else normalised to sum to 1 (both 0: equal). */
function weightsOf(quality: unknown, speed: unknown): AutoWeights | null {
  if (typeof quality !== 'number' && typeof speed !== 'number') return null;
  const q = typeof quality === 'number' ? quality : 0;
  const s = typeof speed === 'number' ? speed : 0;
  return q + s === 0 ? { speed: 0.5, quality: 0.5 } : { speed: s / (q + s), quality: q / (q + s) };
}

/** OpenAI's answer untouched plus the selection and measured timing; a stream gets them in one last chunk before [DONE]. */
function intelligentDialect(selection: Selection, startedAt: number): ClientDialect {
  const metrics = (server: string | null) => ({ response_time: Math.round((performance.now() - startedAt) * 1000) / 1000, model_location: server });
  return {
    answer: (openAI, meta) => ({ ...openAI, model_selection: selection, performance_metrics: metrics(meta.server) }),
    stream(meta) {
      let head: Record<string, unknown> = {};
      return {
        contentType: 'text/event-stream; charset=utf-8',
        chunk(chunk) {
          head = { id: chunk['id'], object: chunk['object'], created: chunk['created'], model: chunk['model'] };
          return `data: ${JSON.stringify(chunk)}\n\n`;
        },
        done: () => `data: ${JSON.stringify({ ...head, choices: [], model_selection: selection, performance_metrics: metrics(meta.server) })}\n\ndata: [DONE]\n\n`,
        fail: (failure: StreamFailure) => `data: ${JSON.stringify({ error: { message: failure.message, type: failure.type, code: failure.code } })}\n\n`,
      };
    },
  };
}
