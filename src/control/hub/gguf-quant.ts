/**
 * The GGUF quantisation a file name carries (`Llama-3.2-1B-Instruct-Q4_K_M.gguf`
 * → `Q4_K_M`, `model-UD-IQ2_XXS-00001-of-00003.gguf` → `UD-IQ2_XXS`), or null.
 * Ollama pulls `hf.co/{owner}/{repo}:{quant}` by the same label.
 */
const quantPattern = /(?:^|[-._])((?:UD-)?(?:I?Q\d+(?:_[A-Z0-9]+)*|TQ\d_\d|BF16|F16|F32|MXFP4))(?=$|[-._])/i;

export function ggufQuantOf(fileName: string): string | null {
  const base = fileName.split('/').at(-1) ?? fileName;
  if (!/\.gguf$/i.test(base)) return null;
  // Vision projectors ride along with a model; they are not a quantisation of it.
  if (/^mmproj/i.test(base)) return null;
  const stem = base.replace(/\.gguf$/i, '').replace(/-\d{5}-of-\d{5}$/, '');
  const match = quantPattern.exec(stem);
  return match?.[1] === undefined ? null : match[1].toUpperCase();
}

export interface GgufQuant {
  quant: string;
  files: string[];
  size: number;
  /** What `POST /api/v1/models/pull` (Ollama) takes to pull this quantisation straight from the Hub. */
  ollama_name: string;
}

/** The quantisations on offer, in the order their files are listed; shards of one quant are grouped. */
export function ggufQuants(repo: string, files: ReadonlyArray<{ name: string; size: number | null }>, host = 'hf.co'): GgufQuant[] {
  const byQuant = new Map<string, GgufQuant>();
  for (const file of files) {
    const quant = ggufQuantOf(file.name);
    if (quant === null) continue;
    const entry = byQuant.get(quant) ?? { quant, files: [], size: 0, ollama_name: `${host}/${repo}:${quant}` };
    entry.files.push(file.name);
    entry.size += file.size ?? 0;
    byQuant.set(quant, entry);
  }
  return [...byQuant.values()];
}
