import type { AdminClient } from './admin-client.ts';

interface Target {
  name: string;
  status: string;
  completed: number | null;
  total: number | null;
  message: string | null;
  error?: string;
}

export interface FollowedOperation {
  id: string;
  kind: string;
  model: string;
  status: string;
  servers: Target[];
}

const barWidth = 30;

function percentOf(target: Target): number | null {
  if (target.status === 'succeeded') return 100;
  return target.total !== null && target.total > 0 && target.completed !== null ? Math.floor((100 * target.completed) / target.total) : null;
}

function state(target: Target): string {
  if (target.status === 'failed') return `failed: ${target.error ?? 'unknown error'}`;
  if (target.status === 'running') return target.message ?? 'running';
  return target.status;
}

/** `gpu-1  [#########.....]  45%  pulling 8eeb52dfb3bb` */
function barLine(target: Target, nameWidth: number): string {
  const percent = percentOf(target);
  const filled = Math.round(((percent ?? 0) * barWidth) / 100);
  return `${target.name.padEnd(nameWidth)}  [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${percent === null ? '   ' : `${String(percent).padStart(3)}%`}  ${state(target)}`;
}

/** `gpu-1  pulling 8eeb52dfb3bb  45%`: a line only when something a reader cares about changed (status, step, each 10 %). */
function plainLine(target: Target, nameWidth: number): string {
  const percent = percentOf(target);
  return `${target.name.padEnd(nameWidth)}  ${state(target)}${percent === null || target.status === 'failed' ? '' : `  ${Math.floor(percent / 10) * 10}%`}`;
}

/**
 * Follows an operation to its end over its SSE stream. On a terminal, one
 * progress bar per server, redrawn in place; otherwise plain lines as things
 * change (for logs and CI). Answers the final state.
 */
export async function followOperation(client: AdminClient, id: string, stdout: NodeJS.WritableStream & { isTTY?: boolean }): Promise<FollowedOperation> {
  let last: FollowedOperation | null = null;
  let drawn = 0;
  const printed = new Map<string, string>();
  await client.events(`/api/v1/operations/${encodeURIComponent(id)}/events`, (event, data) => {
    if (event !== 'operation') return;
    const view = data as FollowedOperation;
    last = view;
    const nameWidth = Math.max(...view.servers.map((target) => target.name.length));
    if (stdout.isTTY === true) {
      // Back to the first bar, then each line cleared and drawn again.
      let text = drawn > 0 ? `\x1b[${drawn}A` : '';
      for (const target of view.servers) text += `\x1b[2K${barLine(target, nameWidth)}\n`;
      drawn = view.servers.length;
      stdout.write(text);
      return;
    }
    for (const target of view.servers) {
      const line = plainLine(target, nameWidth);
      if (printed.get(target.name) === line || target.status === 'pending') continue;
      printed.set(target.name, line);
      stdout.write(`${line}\n`);
    }
  });
  if (last === null) throw new Error(`operation ${id} sent no state`);
  return last;
}
