// The benchmarks' side of bench/capacity-fakes.ts: starts the fakes' process
// and reads (or resets) what the fakes saw through its control port.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { CapacityReadings } from '../test/fakes/fake-capacity.ts';
import type { CapacityFakesOptions } from './capacity-fakes.ts';
import { startProcess } from './bench-process.ts';

export interface CapacityFleet {
  child: ChildProcess;
  urls: string[];
  readings(): Promise<Array<{ url: string; readings: CapacityReadings }>>;
  /** Empty caches and zeroed readings on every fake (they must be idle). */
  reset(): Promise<void>;
}

const script = join(fileURLToPath(new URL('.', import.meta.url)), 'capacity-fakes.ts');

export async function startCapacityFleet(options: CapacityFakesOptions): Promise<CapacityFleet> {
  const started = await startProcess([script, JSON.stringify(options)], {}, /^ready (\{.*\})$/m);
  const { fakes, control } = JSON.parse(started.match[1] as string) as { fakes: string[]; control: string };
  return {
    child: started.child,
    urls: fakes,
    readings: async () => (await (await request(`${control}/readings`)).body.json()) as Array<{ url: string; readings: CapacityReadings }>,
    reset: async () => {
      const response = await request(`${control}/reset`, { method: 'POST' });
      const text = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`resetting the fakes: ${response.statusCode} ${text}`);
    },
  };
}
