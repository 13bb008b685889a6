import { performance } from 'node:perf_hooks';
import type { Counter } from 'prom-client';
import type { InferenceProxy, InternalAnswer, InternalCall } from '../proxy/inference-proxy.ts';
import type { Deployment, DeploymentState } from '../routing/deployment.ts';
import { isRoutable } from '../routing/deployment-picker.ts';
import { LatencyWindow } from './latency-window.ts';

export interface HedgeSettings {
  enabled: boolean;
  /** Never hedge sooner than this, however fast the deployment usually is. */
  floor_ms: number;
  /** Samples a deployment needs before its p95 is trusted; until then nothing is hedged on it. */
  min_samples: number;
}

export type HedgedAnswer = InternalAnswer & { hedged: boolean };

/** Runs `run` after `delayMs`; answers a function that cancels it. */
export type Schedule = (run: () => void, delayMs: number) => () => void;

const timerSchedule: Schedule = (run, delayMs) => {
  const timer = setTimeout(run, delayMs);
  return () => clearTimeout(timer);
};

/**
 * Calls that are safe to repeat (embeddings, rerank): when the deployment
 * asked first has not answered within its recent p95 (at least the floor),
 * the same call goes to a second deployment; the first answer wins and the
 * other call is aborted. A hedge takes one retry from the proxy's retry
 * budget, so a slow fleet is not sent twice the load.
 */
export class HedgedCaller {
  readonly #proxy: InferenceProxy;
  readonly #settings: HedgeSettings;
  readonly #hedges: Counter<'operation' | 'outcome'>;
  // Keyed by the deployment's state, which lives as long as the deployment does.
  readonly #latencies = new WeakMap<DeploymentState, LatencyWindow>();

  readonly #candidates: (modelName: string) => readonly Deployment[];
  readonly #schedule: Schedule;

  /**
   * `candidates`: the deployments a name can reach (a hedge is sent only when
   * one not yet asked can take it). `schedule`: the hedge timer (tests drive it).
   */
  constructor(proxy: InferenceProxy, settings: HedgeSettings, hedges: Counter<'operation' | 'outcome'>, candidates: (modelName: string) => readonly Deployment[], schedule: Schedule = timerSchedule) {
    this.#proxy = proxy;
    this.#candidates = candidates;
    this.#schedule = schedule;
    this.#settings = settings;
    this.#hedges = hedges;
  }

  /** How long to wait for this deployment before hedging; null: do not hedge (off, or too few samples). */
  hedgeDelay(deployment: Deployment): number | null {
    if (!this.#settings.enabled) return null;
    const window = this.#latencies.get(deployment.state);
    if (window === undefined || window.count < this.#settings.min_samples) return null;
    return Math.max(this.#settings.floor_ms, window.quantile(0.95) as number);
  }

  async call(call: InternalCall): Promise<HedgedAnswer> {
    const tried = new Set<string>(call.exclude);
    const controllers: AbortController[] = [];
    const onCallerAbort = () => controllers.forEach((controller) => controller.abort());
    call.signal?.addEventListener('abort', onCallerAbort, { once: true });
    // A holder, not a variable: it is set inside callbacks, which the compiler's narrowing does not see.
    const timer: { cancel: (() => void) | null } = { cancel: null };
    let hedgeFired = false;
    try {
      return await new Promise<HedgedAnswer>((resolve, reject) => {
        let settled = false;
        let pending = 0;
        let primaryError: unknown = null;
        const launch = (isHedge: boolean) => {
          const controller = new AbortController();
          controllers.push(controller);
          if (call.signal?.aborted === true) controller.abort();
          pending++;
          const started = performance.now();
          let armed = isHedge;
          this.#proxy
            .callJson({
              ...call,
              exclude: new Set(tried),
              signal: controller.signal,
              onAttempt: (deployment) => {
                tried.add(deployment.key);
                call.onAttempt?.(deployment);
                if (armed) return;
                armed = true;
                const delay = this.hedgeDelay(deployment);
                if (delay !== null) timer.cancel = this.#schedule(() => fireHedge(), delay);
              },
            })
            .then(
              (answer) => {
                this.#record(answer.deployment, performance.now() - started);
                if (settled) return;
                settled = true;
                if (hedgeFired) this.#hedges.inc({ operation: call.operation, outcome: isHedge ? 'won' : 'lost' });
                for (const other of controllers) if (other !== controller) other.abort();
                resolve({ ...answer, hedged: isHedge });
              },
              (error: unknown) => {
                if (!isHedge) primaryError = error;
                pending--;
                if (settled || pending > 0) return;
                settled = true;
                if (hedgeFired) this.#hedges.inc({ operation: call.operation, outcome: 'failed' });
                reject(primaryError ?? error);
              },
            );
        };
        const fireHedge = () => {
          timer.cancel = null;
          if (settled) return;
          // With no other deployment the proxy would ask the same one again: no hedge, and no budget spent.
          const now = Date.now();
          if (!this.#candidates(call.modelName).some((deployment) => !tried.has(deployment.key) && isRoutable(deployment, now))) return;
          if (!this.#proxy.takeRetry()) {
            this.#hedges.inc({ operation: call.operation, outcome: 'no_budget' });
            return;
          }
          hedgeFired = true;
          launch(true);
        };
        launch(false);
      });
    } finally {
      timer.cancel?.();
      call.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  #record(deployment: Deployment, milliseconds: number): void {
    let window = this.#latencies.get(deployment.state);
    if (window === undefined) {
      window = new LatencyWindow();
      this.#latencies.set(deployment.state, window);
    }
    window.record(milliseconds);
  }
}
