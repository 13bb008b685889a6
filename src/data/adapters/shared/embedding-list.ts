/** Builds OpenAI's embeddings answer; base64 is little-endian float32, as OpenAI sends it. */
export function toEmbeddingList(vectors: number[][], model: string, encoding: unknown, promptTokens: number) {
  return {
    object: 'list',
    data: vectors.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: encoding === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
    })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

/** Rough token count for servers that report none (about four characters a token). */
export function estimateTokens(inputs: readonly string[]): number {
  let characters = 0;
  for (const input of inputs) characters += input.length;
  return Math.ceil(characters / 4);
}

export function inputsOf(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input)) return input.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
  return [];
}

export function isVectorList(value: unknown): value is number[][] {
  return Array.isArray(value) && value.every((vector) => Array.isArray(vector));
}
