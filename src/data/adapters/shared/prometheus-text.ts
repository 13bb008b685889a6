/** One sample of the Prometheus text exposition format. */
export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const samplePattern = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/;
const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses exposition text; lines it cannot read are skipped rather than fatal. */
export function parsePrometheusText(text: string): PrometheusSample[] {
  const samples: PrometheusSample[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = samplePattern.exec(line);
    if (match === null) continue;
    const value = parseValue(match[4] as string);
    if (value === null) continue;
    const labels: Record<string, string> = {};
    if (match[3] !== undefined) {
      for (const label of match[3].matchAll(labelPattern)) {
        labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_all, escaped: string) => (escaped === 'n' ? '\n' : escaped));
      }
    }
    samples.push({ name: match[1] as string, labels, value });
  }
  return samples;
}

function parseValue(text: string): number | null {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  return Number.isNaN(value) ? null : value;
}

/** Sum of a metric over all its label sets; null when the metric is absent. */
export function sumMetric(samples: PrometheusSample[], ...names: string[]): number | null {
  for (const name of names) {
    let total: number | null = null;
    for (const sample of samples) {
      if (sample.name === name && Number.isFinite(sample.value)) total = (total ?? 0) + sample.value;
    }
    if (total !== null) return total;
  }
  return null;
}

/** Highest value of a metric over its label sets (a usage ratio across models). */
export function maxMetric(samples: PrometheusSample[], ...names: string[]): number | null {
  for (const name of names) {
    let highest: number | null = null;
    for (const sample of samples) {
      if (sample.name === name && Number.isFinite(sample.value)) highest = Math.max(highest ?? sample.value, sample.value);
    }
    if (highest !== null) return highest;
  }
  return null;
}
