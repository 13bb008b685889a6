// What the benchmarks read off a running gateway from outside: its Prometheus
// metrics (parsed with the gateway's own reader) and its process's memory from /proc.
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { parsePrometheusText, type PrometheusSample } from '../src/data/adapters/shared/prometheus-text.ts';
import { benchAuth } from './bench-gateway.ts';

/** One scrape of `/metrics`. prom-client's event-loop histogram is reset by every scrape, so a scrape ends a measuring window. */
export async function scrapeMetrics(gatewayUrl: string): Promise<PrometheusSample[]> {
  const response = await request(`${gatewayUrl}/metrics`, { headers: benchAuth });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}`);
  return parsePrometheusText(text);
}

/** Sum of a metric's samples whose labels include `labels` (0 when none). */
export function metricValue(samples: readonly PrometheusSample[], name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const sample of samples) {
    if (sample.name !== name) continue;
    if (Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) total += sample.value;
  }
  return total;
}

/** Values of a metric by one label (e.g. llm_prefix_affinity_total by result). */
export function metricByLabel(samples: readonly PrometheusSample[], name: string, label: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const sample of samples) if (sample.name === name) values.set(sample.labels[label] ?? '', (values.get(sample.labels[label] ?? '') ?? 0) + sample.value);
  return values;
}

/** A process's resident memory now and its peak so far (VmRSS, VmHWM), in bytes; Linux only. */
export function processMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** CPU time a process has used so far (user + system), ms; Linux only. */
export function processCpuMs(pid: number): number {
  // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, after the command name in parentheses.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1_000) / clockTicksPerSecond;
}

// USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK) is not reachable from Node).
const clockTicksPerSecond = 100;
