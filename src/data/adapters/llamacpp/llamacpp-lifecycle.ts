import { setTimeout as delay } from 'node:timers/promises';
import { assertOk, serverMessageOf } from '../../upstream/upstream-http.ts';
import { upstreamCall, type AdapterContext } from '../server-adapter.ts';
import type { KindLifecycle } from '../server-kind-module.ts';
import { routerDetail, routerStates, type RouterModelState } from './llamacpp-router.ts';

// Loading a large GGUF can take minutes; the router says `loading` until its child is ready.
const loadTimeoutMs = 10 * 60_000;
// The router answers /models/load and /models/unload at once and changes the model's status later.
const pollMs = 200;

/**
 * A llama.cpp router loads a model into a child process on
 * POST /models/load and stops it on POST /models/unload; both answer before
 * the work is done, so each action waits until /v1/models shows the result.
 * A single-model llama-server runs the model it was started with and manages
 * none, so no action is offered for it. llama.cpp has no keep-alive: a model
 * stays loaded until it is unloaded or `--models-max` evicts it.
 */
export const llamaCppRouterLifecycle: KindLifecycle = {
  manages: (models) => models.some((model) => model.details[routerDetail] === true),
  unmanaged: 'it runs the one model it was started with; start llama-server without a model (router mode, --models-dir) to load and unload models through it',

  async load(context, model) {
    const response = await post(context, '/models/load', model);
    if (!said(response, 400, 'already running')) assertOk(response, `POST /models/load${serverMessageOf(response.text)}`);
    await waitUntil(context, model, 'loaded', loadTimeoutMs);
  },

  async unload(context, model) {
    const response = await post(context, '/models/unload', model);
    if (!said(response, 400, 'not running')) assertOk(response, `POST /models/unload${serverMessageOf(response.text)}`);
    await waitUntil(context, model, 'unloaded', context.timeoutMs);
  },
};

function post(context: AdapterContext, path: string, model: string) {
  return context.http.text(upstreamCall(context, path, `POST ${path}`, { method: 'POST', body: { model } }));
}

/** The router refuses to load what runs already, or unload what does not: the wanted state holds, so that is success. */
function said(response: { status: number; text: string }, status: number, words: string): boolean {
  return response.status === status && response.text.includes(words);
}

async function waitUntil(context: AdapterContext, model: string, wanted: 'loaded' | 'unloaded', timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = routerStates(await context.http.json(upstreamCall(context, '/v1/models', 'GET /v1/models')))?.get(model);
    if (state === undefined) throw new Error(`the server no longer lists ${model} as a model it manages`);
    if (reached(state, wanted)) return;
    if (wanted === 'loaded' && state.value === 'unloaded') throw new Error(loadFailure(model, state));
    if (Date.now() >= deadline) throw new Error(`${model} was still ${state.value} after ${Math.round(timeoutMs / 1000)} s`);
    await delay(pollMs, undefined, context.signal === undefined ? {} : { signal: context.signal });
  }
}

function reached(state: RouterModelState, wanted: 'loaded' | 'unloaded'): boolean {
  // A sleeping model's child is up and wakes on the next request: loaded as far as the router is concerned.
  if (wanted === 'loaded') return state.value === 'loaded' || state.value === 'sleeping';
  return state.value === 'unloaded';
}

function loadFailure(model: string, state: RouterModelState): string {
  if (!state.failed) return `${model} went back to unloaded before it finished loading (evicted or unloaded meanwhile)`;
  const exit = state.exitCode === null ? '' : ` (exit code ${state.exitCode})`;
  return `llama.cpp could not load ${model}: its process failed${exit}${state.lastError === null ? '' : `: ${state.lastError}`}`;
}
