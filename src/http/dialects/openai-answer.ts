/** Reading OpenAI answers and chunks defensively: every dialect translates from these, and a server may leave any field out. */

export type Json = Record<string, unknown>;

/** An object field as an object, anything else as an empty one. */
export function record(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

/** The first choice of a `chat.completion`, `text_completion` or chunk (empty when there is none, as in the usage chunk). */
export function firstChoice(answer: Json): Json {
  const choices = answer['choices'];
  return Array.isArray(choices) && choices.length > 0 ? record(choices[0]) : {};
}

/** A token count: a finite number, else 0. */
export function tokenCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
