import type { StreamTranslator } from '../adapters/inference-mapping.ts';

/** The `data` of each SSE event in whole events (comments and `event:`-only blocks carry none). */
export function* eventData(text: string): Generator<string> {
  for (const block of text.split(/\r?\n\r?\n/)) {
    let data: string | null = null;
    for (const line of block.split(/\r?\n/)) {
      if (!line.startsWith('data:')) continue;
      const value = line.charCodeAt(5) === 0x20 ? line.slice(6) : line.slice(5);
      data = data === null ? value : `${data}\n${value}`;
    }
    if (data !== null) yield data;
  }
}

function frame(payloads: readonly string[], into: string[]): void {
  for (const payload of payloads) into.push(`data: ${payload}\n\n`);
}

/** Whole upstream events through a kind's stream hook, as OpenAI SSE bytes (possibly none). */
export function translateEvents(ready: Buffer, translator: StreamTranslator): Buffer {
  const out: string[] = [];
  for (const data of eventData(ready.toString('utf8'))) frame(translator.event(data), out);
  return out.length === 0 ? emptyBuffer : Buffer.from(out.join(''));
}

/** At a clean end: a last event without its blank line still counts, then the hook's closing events. */
export function translateEnd(rest: Buffer | null, translator: StreamTranslator): Buffer {
  const out: string[] = [];
  if (rest !== null && rest.length > 0) for (const data of eventData(rest.toString('utf8'))) frame(translator.event(data), out);
  frame(translator.end(), out);
  return Buffer.from(out.join(''));
}

const emptyBuffer = Buffer.alloc(0);
