// A team's in-house model server with its own small REST API, the kind the
// `custom` server kind is for:
//   GET  /health                               {"status": "ok"}
//   GET  /api/v1/models                        {"models": [{"name": "…"}]}
//   POST /api/v1/models/{model}/generate       {"prompt": "…", "max_new_tokens"?: n, "temperature"?: t}
//        → {"output": {"text": "…"}, "usage": {"input_tokens": n, "output_tokens": n}}
// It never streams. With an apiKey it wants `x-api-key: <key>` (no scheme).
import { FakeServer } from './fake-server.ts';
import type { FakeBehaviour, RequestContext } from './fake-server.ts';
import { asNumber, bodyRecord, estimateTokens, planTokens } from './fake-util.ts';

export interface InhouseFakeOptions {
  models?: string[];
  apiKey?: string;
  behaviour?: Partial<FakeBehaviour>;
}

const generatePattern = /^\/api\/v1\/models\/([^/]+)\/generate$/;

export class InhouseFake extends FakeServer {
  private readonly apiKey: string | undefined;

  constructor(options: InhouseFakeOptions = {}) {
    super((options.models ?? ['house-model']).map((id) => ({ id })), options.behaviour);
    this.apiKey = options.apiKey;
  }

  protected override errorBody(_status: number, message: string): unknown {
    return { detail: message };
  }

  protected override async handle(ctx: RequestContext): Promise<void> {
    if (ctx.method === 'GET' && ctx.path === '/health') return ctx.json(200, { status: 'ok' });
    if (this.apiKey !== undefined && ctx.req.headers['x-api-key'] !== this.apiKey) return ctx.json(401, { detail: 'bad or missing x-api-key' });
    if (ctx.method === 'GET' && ctx.path === '/api/v1/models') return ctx.json(200, { models: this.models.map((model) => ({ name: model.id, loaded: true })) });
    const generate = generatePattern.exec(ctx.path);
    if (ctx.method === 'POST' && generate !== null) {
      const name = decodeURIComponent(generate[1] as string);
      if (this.findModel(name) === undefined) return ctx.json(404, { detail: `model ${name} not found` });
      const body = bodyRecord(ctx.body);
      if (typeof body.prompt !== 'string' || body.prompt === '') return ctx.json(422, { detail: 'prompt must be a non-empty string' });
      const { tokens } = planTokens(this.replyFor(name, body.prompt), asNumber(body.max_new_tokens));
      return ctx.json(200, { model: name, output: { text: tokens.join('') }, usage: { input_tokens: estimateTokens(body.prompt), output_tokens: tokens.length } });
    }
    ctx.json(404, { detail: `no route ${ctx.method} ${ctx.path}` });
  }
}

export async function startInhouseFake(options: InhouseFakeOptions = {}): Promise<InhouseFake> {
  return new InhouseFake(options).start();
}

/** The `kind_config` that describes this fake's API to the gateway. */
export const inhouseKindConfig = {
  health_path: '/health',
  models_path: '/api/v1/models',
  models_field: 'models',
  generate_path: '/api/v1/models/{model}/generate',
  method: 'POST',
  request_template: { prompt: '{prompt}', max_new_tokens: '{max_tokens}', temperature: '{temperature}' },
  text_field: 'output.text',
  prompt_tokens_field: 'usage.input_tokens',
  completion_tokens_field: 'usage.output_tokens',
  auth_header: 'x-api-key',
  auth_scheme: '',
};
