import { assertOk, serverMessageOf } from '../../upstream/upstream-http.ts';
import { upstreamCall, type AdapterContext } from '../server-adapter.ts';
import type { KindLifecycle, PullProgress } from '../server-kind-module.ts';
import { isRecord } from '../shared/wire-values.ts';

// A pull reports progress every few hundred ms while bytes flow; five quiet minutes means it is stuck.
const pullIdleMs = 5 * 60_000;
// Loading a large model into memory can take minutes and says nothing until it is done.
const loadTimeoutMs = 10 * 60_000;

/**
 * Ollama manages its own models: /api/pull (streamed progress), /api/delete,
 * /api/copy, and /api/generate with no prompt, which loads a model (or, with
 * keep_alive 0, unloads it) without generating a token.
 */
export const ollamaLifecycle: KindLifecycle = {
  async pull(context, model, progress) {
    const layers = new Map<string, { completed: number; total: number }>();
    let failure: string | null = null;
    let succeeded = false;
    await context.http.ndjson(
      { ...upstreamCall(context, '/api/pull', 'POST /api/pull', { method: 'POST', body: { model, stream: true } }), idleMs: pullIdleMs },
      (line) => {
        if (!isRecord(line)) return;
        if (typeof line['error'] === 'string') {
          failure = line['error'];
          return;
        }
        const status = typeof line['status'] === 'string' ? line['status'] : '';
        if (status === 'success') succeeded = true;
        progress(summarise(status, line, layers));
      },
    );
    if (failure !== null) throw new Error(`pull failed: ${failure}`);
    if (!succeeded) throw new Error('pull ended before Ollama said success');
  },

  async remove(context, model) {
    await call(context, 'DELETE', '/api/delete', { model });
  },

  async copy(context, source, destination) {
    await call(context, 'POST', '/api/copy', { source, destination });
  },

  async load(context, model, options) {
    await call(context, 'POST', '/api/generate', { model, stream: false, ...(options.keepAlive === undefined ? {} : { keep_alive: options.keepAlive }) }, loadTimeoutMs);
  },

  async unload(context, model) {
    await call(context, 'POST', '/api/generate', { model, stream: false, keep_alive: 0 });
  },
};

/** Ollama sends one line per layer step; the operation shows the sum over every layer seen. */
function summarise(status: string, line: Record<string, unknown>, layers: Map<string, { completed: number; total: number }>): PullProgress {
  const digest = typeof line['digest'] === 'string' ? line['digest'] : undefined;
  const total = typeof line['total'] === 'number' ? line['total'] : undefined;
  if (digest !== undefined && total !== undefined) {
    layers.set(digest, { total, completed: typeof line['completed'] === 'number' ? line['completed'] : layers.get(digest)?.completed ?? 0 });
  }
  if (layers.size === 0) return { message: status };
  let completed = 0;
  let sum = 0;
  for (const layer of layers.values()) {
    completed += Math.min(layer.completed, layer.total);
    sum += layer.total;
  }
  return { message: status, completed, total: sum };
}

async function call(context: AdapterContext, method: 'POST' | 'DELETE', path: string, body: Record<string, unknown>, timeoutMs = context.timeoutMs): Promise<void> {
  const what = `${method} ${path}`;
  const response = await context.http.text({ ...upstreamCall(context, path, what, { body }), method, timeoutMs });
  assertOk(response, `${what}${serverMessageOf(response.text)}`);
}
