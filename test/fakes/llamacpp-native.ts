// llama.cpp's native POST /completion (llama-server b6000-era shapes): a
// `content` answer with token counts and `stop_type`, or an SSE stream of
// `{content, stop:false}` events ending with one `{stop:true, …}` event and
// no [DONE] marker.
import type { RequestContext } from './fake-server.ts';
import { asNumber, estimateTokens, planTokens } from './fake-util.ts';
import type { JsonRecord } from './fake-util.ts';

export interface NativeCompletionPlan {
  model: string;
  prompt: string;
  text: string;
  nPredict: number | undefined;
  stream: boolean;
}

export function nativeCompletionPlan(body: JsonRecord, model: string, reply: (prompt: string) => string): NativeCompletionPlan | string {
  if (typeof body.prompt !== 'string') return "'prompt' must be a string";
  const nPredict = asNumber(body.n_predict);
  return { model, prompt: body.prompt, text: reply(body.prompt), nPredict: nPredict === -1 ? undefined : nPredict, stream: body.stream === true };
}

function finalFields(plan: NativeCompletionPlan, predicted: number, finish: 'stop' | 'length'): JsonRecord {
  const evaluated = estimateTokens(plan.prompt) + 1;
  return {
    id_slot: 0,
    stop: true,
    model: plan.model,
    tokens_predicted: predicted,
    tokens_evaluated: evaluated,
    generation_settings: { n_predict: plan.nPredict ?? -1, temperature: 0.8, stream: plan.stream },
    prompt: plan.prompt,
    has_new_line: false,
    truncated: false,
    stop_type: finish === 'length' ? 'limit' : 'eos',
    stopping_word: '',
    tokens_cached: evaluated + predicted,
    timings: { prompt_n: evaluated, prompt_ms: evaluated * 1.1, predicted_n: predicted, predicted_ms: predicted * 20 },
  };
}

export async function respondNativeCompletion(ctx: RequestContext, plan: NativeCompletionPlan): Promise<void> {
  const { tokens, finish } = planTokens(plan.text, plan.nPredict);
  if (!plan.stream) {
    ctx.json(200, { index: 0, content: tokens.join(''), tokens: [], ...finalFields(plan, tokens.length, finish) });
    return;
  }
  const stream = ctx.stream('sse');
  for (const [position, token] of tokens.entries()) {
    await stream.send({ index: 0, content: token, tokens: [position], stop: false, id_slot: 0, tokens_predicted: position + 1, tokens_evaluated: estimateTokens(plan.prompt) + 1 });
  }
  await stream.send({ index: 0, content: '', tokens: [], ...finalFields(plan, tokens.length, finish) });
  await stream.finish(false);
}
