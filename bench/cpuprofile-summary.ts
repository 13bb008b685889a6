// Prints where a V8 .cpuprofile spent its time: self and inclusive time per function and self time
// per file, largest first. `node bench/cpuprofile-summary.ts <file.cpuprofile> [rows]`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function printSummary(path: string, rows: number): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
    total += delta;
  });
  const shortUrl = (url: string) => url.replace(/^file:\/\/.*?\/(src|node_modules)\//, '$1/').replace(/^node:/, 'node:');
  const keyOf = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'} ${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const files = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id) as ProfileNode;
    self.set(keyOf(node), (self.get(keyOf(node)) ?? 0) + us);
    const file = shortUrl(node.callFrame.url) || node.callFrame.functionName;
    files.set(file, (files.get(file) ?? 0) + us);
    // Inclusive: count each function once per sample even when it recurses.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const key = keyOf(byId.get(at) as ProfileNode);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const top = (map: Map<string, number>, title: string) => {
    process.stdout.write(`\n${title} (of ${(total / 1000).toFixed(0)} ms)\n`);
    for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, rows)) process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${key}\n`);
  };
  top(self, 'self time by function');
  top(files, 'self time by file');
  top(inclusive, 'inclusive time by function');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) printSummary(process.argv[2] as string, Number(process.argv[3] ?? 40));
