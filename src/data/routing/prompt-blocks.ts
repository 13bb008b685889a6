/**
 * A prompt cut into fixed-size blocks of characters and hashed as a chain:
 * the hash at the end of block i covers every character before it, so two
 * prompts share block hashes exactly as far as they share a prefix (what a
 * serving engine's prefix cache can reuse). `anchor` is the hash at the end
 * of the conversation's opening (the messages up to and including the first
 * user turn): it stays the same on every later turn of that conversation.
 */
export interface PromptBlocks {
  /** Chain hashes of the complete blocks, in order. */
  readonly chain: number[];
  readonly anchor: number;
  /** Complete blocks within the opening. */
  readonly openingBlocks: number;
}

export interface BlockSettings {
  /** Characters per block (vLLM's 16-token block is about 64 characters). */
  blockChars: number;
  /** Blocks hashed at most: a huge prompt's tail changes nothing about where its prefix went. */
  maxBlocks: number;
}

/**
 * Two 32-bit FNV-1a lanes with different primes, read as one 53-bit number:
 * one pass over the text, no string built, and collisions rare enough at the
 * table's size (a collision only sends a request to a colder server).
 */
class ChainHasher {
  #low: number;
  #high: number;
  #inBlock = 0;
  #anchor: number | null = null;
  #openingBlocks = 0;
  readonly chain: number[] = [];
  readonly #settings: BlockSettings;

  constructor(seed: string, settings: BlockSettings) {
    this.#settings = settings;
    this.#low = 0x811c9dc5;
    this.#high = 0x01000193;
    this.#feed(seed, false);
    this.#inBlock = 0;
  }

  get full(): boolean {
    return this.chain.length >= this.#settings.maxBlocks;
  }

  add(text: string): void {
    this.#feed(text, true);
  }

  markAnchor(): void {
    if (this.#anchor !== null) return;
    this.#anchor = this.#value();
    this.#openingBlocks = this.chain.length;
  }

  finish(): PromptBlocks {
    if (this.#anchor === null) this.markAnchor();
    return { chain: this.chain, anchor: this.#anchor as number, openingBlocks: this.#openingBlocks };
  }

  #feed(text: string, counted: boolean): void {
    const { blockChars, maxBlocks } = this.#settings;
    for (let index = 0; index < text.length; index++) {
      const code = text.charCodeAt(index);
      this.#low = Math.imul(this.#low ^ code, 0x01000193);
      this.#high = Math.imul(this.#high ^ code, 0x5bd1e995);
      if (!counted) continue;
      if (++this.#inBlock === blockChars) {
        this.#inBlock = 0;
        this.chain.push(this.#value());
        if (this.chain.length >= maxBlocks) return;
      }
    }
  }

  #value(): number {
    return (this.#high >>> 11) * 4_294_967_296 + (this.#low >>> 0);
  }
}

/**
 * The blocks of a chat or completion request's prompt (OpenAI shapes: every
 * client API reaches the proxy translated to them), or null when it has no
 * prompt to speak of. `seed` keeps models apart: the same prompt to another
 * model shares nothing in any cache.
 */
export function promptBlocks(body: Record<string, unknown>, seed: string, settings: BlockSettings): PromptBlocks | null {
  const hasher = new ChainHasher(seed, settings);
  const messages = body['messages'];
  if (Array.isArray(messages)) {
    if (messages.length === 0) return null;
    for (const message of messages) {
      if (hasher.full) break;
      if (message === null || typeof message !== 'object') continue;
      const turn = message as Record<string, unknown>;
      const role = typeof turn['role'] === 'string' ? turn['role'] : '';
      hasher.add(role);
      hasher.add('\u0000');
      addContent(hasher, turn['content']);
      if (turn['tool_calls'] !== undefined) hasher.add(JSON.stringify(turn['tool_calls']));
      hasher.add('\u0001');
      // The conversation's opening: the same on every later turn of it.
      if (role === 'user') hasher.markAnchor();
    }
    return hasher.finish();
  }
  const prompt = body['prompt'];
  if (typeof prompt === 'string' && prompt.length > 0) {
    hasher.add(prompt);
    // A plain prompt has no turns: its first block (or all of it, when shorter) stands for its opening.
    return anchoredAtFirstBlock(hasher.finish());
  }
  return null;
}

function anchoredAtFirstBlock(blocks: PromptBlocks): PromptBlocks {
  return blocks.chain.length === 0 ? blocks : { chain: blocks.chain, anchor: blocks.chain[0] as number, openingBlocks: 1 };
}

function addContent(hasher: ChainHasher, content: unknown): void {
  if (typeof content === 'string') {
    hasher.add(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content) {
    if (part === null || typeof part !== 'object') continue;
    const fields = part as Record<string, unknown>;
    if (typeof fields['text'] === 'string') hasher.add(fields['text']);
    const image = fields['image_url'];
    if (image !== null && typeof image === 'object' && typeof (image as Record<string, unknown>)['url'] === 'string') hasher.add((image as Record<string, string>)['url'] as string);
    else if (typeof image === 'string') hasher.add(image);
  }
}

/** A short stable number for a name (a deployment's server and model), for rendezvous hashing. */
export function nameHash(name: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < name.length; index++) hash = Math.imul(hash ^ name.charCodeAt(index), 0x01000193);
  return hash >>> 0;
}

/** Mixes an anchor with a deployment's name hash into a score (murmur3's finaliser): rendezvous hashing ranks by it. */
export function rendezvousScore(anchor: number, name: number): number {
  let hash = (anchor % 4_294_967_296) ^ Math.imul(name, 0x9e3779b1) ^ Math.floor(anchor / 4_294_967_296);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}
