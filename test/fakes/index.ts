// Fake model servers for Switchyard tests. See fake-server.ts for the shared
// behaviour/fault model; each start* function returns a listening fake.
export * from './fake-server.ts';
export * from './fake-capacity.ts';
export * from './ollama-fake.ts';
export * from './openai-fake.ts';
export * from './tei-fake.ts';
export * from './reranker-fake.ts';
export * from './wire-readers.ts';
export { openAIError } from './openai-compat.ts';
export * from './inhouse-fake.ts';
export * from './hf-hub-fake.ts';
export * from './llamacpp-router.ts';
