import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import type { Caller } from '../http/internal/internal-rest.ts';
import { CallEnded } from './grpc-status.ts';

/** What every kind of call has (grpc-js does not export the type it calls SurfaceCall). */
type SurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getPeer' | 'getDeadline' | 'on' | 'removeListener'>;

/** One call in flight: who is calling (as REST will see them) and a signal that aborts on cancel, deadline or shutdown. */
export interface CallContext {
  caller: Caller;
  signal: AbortSignal;
  /** Stops the deadline timer and the listeners; the signal is left as it is. */
  close(): void;
}

/** The calls in flight, so a shutdown can end them (their REST calls hang up, their upstream calls are cancelled). */
export class CallTracker {
  readonly #open = new Set<AbortController>();
  /** Streams that end only when the client leaves (WatchServers): a shutdown ends them first. */
  readonly #watches = new Set<AbortController>();
  #isClosing = false;

  get size(): number {
    return this.#open.size;
  }

  /**
   * Opens a call: its caller from the `authorization` metadata and the
   * peer's address, its signal tied to the call's cancel and deadline. A
   * `watch` has no end of its own.
   */
  open(call: SurfaceCall, kind: 'call' | 'watch' = 'call'): CallContext {
    const controller = new AbortController();
    if (this.#isClosing) controller.abort(new CallEnded('shutdown'));
    this.#open.add(controller);
    if (kind === 'watch') this.#watches.add(controller);
    const onCancelled = () => controller.abort(new CallEnded('cancelled'));
    call.on('cancelled', onCancelled);
    const deadline = deadlineMs(call);
    // grpc-js answers DEADLINE_EXCEEDED itself when the deadline passes; this hangs up the REST call behind it.
    const timer = deadline === null ? null : setTimeout(() => controller.abort(new CallEnded('deadline')), Math.max(0, deadline - Date.now()));
    timer?.unref();
    const caller: Caller = { via: 'grpc' };
    const key = authorizationOf(call.metadata);
    if (key !== undefined) caller.authorization = key;
    const address = addressOf(call.getPeer());
    if (address !== undefined) caller.remoteAddress = address;
    return {
      caller,
      signal: controller.signal,
      close: () => {
        if (timer !== null) clearTimeout(timer);
        call.removeListener('cancelled', onCancelled);
        this.#open.delete(controller);
        this.#watches.delete(controller);
      },
    };
  }

  /** Ends the watches (UNAVAILABLE: the client watches again elsewhere), and any opened from now on. */
  endWatches(): void {
    this.#isClosing = true;
    for (const controller of this.#watches) controller.abort(new CallEnded('shutdown'));
  }

  /** Ends every call in flight, and any opened from now on, with UNAVAILABLE. */
  abortAll(): void {
    this.#isClosing = true;
    for (const controller of this.#open) controller.abort(new CallEnded('shutdown'));
  }
}

/** The key from `authorization` metadata (`Bearer k` or the bare key); InternalRest adds `Bearer`. */
function authorizationOf(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** grpc-js gives the peer as `address:port` (IPv6 unbracketed); the port is cut. */
function addressOf(peer: string): string | undefined {
  if (peer === 'unknown' || peer === '') return undefined;
  const colon = peer.lastIndexOf(':');
  return colon <= 0 ? peer : peer.slice(0, colon).replace(/^\[|\]$/g, '');
}

function deadlineMs(call: SurfaceCall): number | null {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? at : null;
}
