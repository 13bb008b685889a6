// How the fake Ollama streams /api/pull: a manifest, then each layer of the
// model (the big GGUF blob, then template, license and params) with its own
// sha256 digest, total and growing completed, then verification and success,
// as Ollama 0.12 does. A script makes it slow, or fail part-way.
import type { FakeModel } from './fake-server.ts';
import type { ChunkStream } from './fake-stream.ts';
import { sha256Hex, sleep } from './fake-util.ts';
import type { JsonRecord } from './fake-util.ts';

export interface PullScript {
  /** Progress lines sent for the model blob (default 4). */
  steps?: number;
  /** Pause before each progress line (default 0). */
  stepMs?: number;
  /** Sends `{error}` after this many blob progress lines instead of finishing. */
  failAfterSteps?: number;
  /** The error Ollama sends then. */
  failure?: string;
}

interface Layer {
  digest: string;
  total: number;
}

function layersOf(model: FakeModel, name: string): Layer[] {
  const layer = (part: string, total: number): Layer => ({ digest: `sha256:${sha256Hex(`${name}:${part}`)}`, total });
  return [layer('model', model.sizeBytes ?? 4_000_000_000), layer('template', 1_429), layer('license', 11_357), layer('params', 96)];
}

/** Streams one pull; answers true when it ended in success (the caller installs the model). */
export async function streamPull(stream: ChunkStream, model: FakeModel, name: string, script: PullScript, signal: AbortSignal): Promise<boolean> {
  const steps = Math.max(1, script.steps ?? 4);
  const send = async (line: JsonRecord): Promise<void> => {
    await sleep(script.stepMs ?? 0, signal);
    if (signal.aborted) throw new Error('client went away');
    await stream.send(line);
  };
  await send({ status: 'pulling manifest' });
  const [blob, ...small] = layersOf(model, name) as [Layer, ...Layer[]];
  const status = (layer: Layer): string => `pulling ${layer.digest.slice(7, 19)}`;
  for (let step = 0; step <= steps; step++) {
    if (script.failAfterSteps !== undefined && step === script.failAfterSteps) {
      await send({ error: script.failure ?? 'max retries exceeded: read tcp 10.0.0.7:51442->104.18.38.238:443: read: connection reset by peer' });
      return false;
    }
    await send({ status: status(blob), digest: blob.digest, total: blob.total, completed: Math.floor((blob.total * step) / steps) });
  }
  for (const layer of small) {
    await send({ status: status(layer), digest: layer.digest, total: layer.total, completed: 0 });
    await send({ status: status(layer), digest: layer.digest, total: layer.total, completed: layer.total });
  }
  await send({ status: 'verifying sha256 digest' });
  await send({ status: 'writing manifest' });
  await send({ status: 'success' });
  return true;
}

/** Go's time.ParseDuration subset Ollama accepts for keep_alive, in ms; numbers are seconds. Negative: for ever. */
export function keepAliveMs(value: unknown): number {
  if (typeof value === 'number') return value < 0 ? Number.POSITIVE_INFINITY : value * 1000;
  if (typeof value !== 'string' || value === '') return 5 * 60_000;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const match of value.matchAll(/(-?[\d.]+)(ns|us|µs|ms|s|m|h)/g)) total += Number(match[1]) * (unit[match[2] as string] ?? 0);
  if (value === '0') return 0;
  return total < 0 || value.startsWith('-') ? Number.POSITIVE_INFINITY : total;
}
