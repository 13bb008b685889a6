import { describe, expect, it } from 'vitest';
import { ggufQuantOf, ggufQuants } from '../../src/control/hub/gguf-quant.ts';

describe('GGUF quantisations from file names', () => {
  it.each([
    ['Llama-3.2-1B-Instruct-Q4_K_M.gguf', 'Q4_K_M'],
    ['Meta-Llama-3.1-8B-Instruct-Q8_0.gguf', 'Q8_0'],
    ['qwen2.5-7b-instruct-q5_k_s.gguf', 'Q5_K_S'],
    ['Phi-3.5-mini-instruct-IQ2_XXS.gguf', 'IQ2_XXS'],
    ['gemma-2-9b-it-BF16.gguf', 'BF16'],
    ['model.F16.gguf', 'F16'],
    ['DeepSeek-R1-UD-IQ1_S-00001-of-00003.gguf', 'UD-IQ1_S'],
    ['Q4_K_M/Mixtral-8x7B-Q4_K_M-00002-of-00002.gguf', 'Q4_K_M'],
    ['gpt-oss-20b-MXFP4.gguf', 'MXFP4'],
  ])('%s → %s', (name, quant) => {
    expect(ggufQuantOf(name)).toBe(quant);
  });

  it.each(['README.md', 'mmproj-model-f16.gguf', 'model.gguf', 'config.json', 'Qwen2-7B.gguf'])('%s has none', (name) => {
    expect(ggufQuantOf(name)).toBeNull();
  });

  it('groups shards of one quant and names the Ollama model', () => {
    const quants = ggufQuants('owner/Big-GGUF', [
      { name: 'Big-Q4_K_M-00001-of-00002.gguf', size: 10 },
      { name: 'Big-Q4_K_M-00002-of-00002.gguf', size: 5 },
      { name: 'Big-Q8_0.gguf', size: 30 },
      { name: 'README.md', size: 1 },
    ]);
    expect(quants).toEqual([
      { quant: 'Q4_K_M', files: ['Big-Q4_K_M-00001-of-00002.gguf', 'Big-Q4_K_M-00002-of-00002.gguf'], size: 15, ollama_name: 'hf.co/owner/Big-GGUF:Q4_K_M' },
      { quant: 'Q8_0', files: ['Big-Q8_0.gguf'], size: 30, ollama_name: 'hf.co/owner/Big-GGUF:Q8_0' },
    ]);
  });
});
