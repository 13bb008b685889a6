import { assertOk, serverMessageOf } from '../../upstream/upstream-http.ts';
import { UpstreamError } from '../../upstream/upstream-error.ts';
import { upstreamCall, type AdapterContext } from '../server-adapter.ts';
import type { KindLifecycle } from '../server-kind-module.ts';

/**
 * vLLM loads and unloads LoRA adapters at run time when started with
 * VLLM_ALLOW_RUNTIME_LORA_UPDATING=True; otherwise the endpoints are absent
 * (404), which is said plainly. Base models are fixed when vLLM starts.
 */
export const vllmLoraLifecycle: KindLifecycle = {
  loadsWhat: 'LoRA adapters',
  async load(context, model, options) {
    if (options.loraPath === undefined) throw new Error('vLLM loads LoRA adapters only, and needs lora_path: where the adapter lives on that server');
    await call(context, '/v1/load_lora_adapter', { lora_name: model, lora_path: options.loraPath });
  },
  async unload(context, model) {
    await call(context, '/v1/unload_lora_adapter', { lora_name: model });
  },
};

async function call(context: AdapterContext, path: string, body: Record<string, unknown>): Promise<void> {
  const what = `POST ${path}`;
  const response = await context.http.text(upstreamCall(context, path, what, { method: 'POST', body }));
  // FastAPI's own "Not Found" (no such route), not vLLM's "adapter cannot be found".
  if ((response.status === 404 || response.status === 405) && /^\s*\{\s*"detail"/.test(response.text)) {
    throw new UpstreamError('this vLLM server does not allow runtime LoRA updating (start it with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True)', { failure: 'status', upstreamStatus: response.status });
  }
  assertOk(response, `${what}${serverMessageOf(response.text)}`);
}
