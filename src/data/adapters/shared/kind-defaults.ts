import { bearerHeaders } from '../inference-mapping.ts';
import type { ServerKindModule } from '../server-kind-module.ts';
import { openAIUsage, waitingCapacity } from './openai-usage.ts';

/** What most kinds share: the key as a Bearer token, OpenAI usage fields, the waiting queue. */
export const kindDefaults: Pick<ServerKindModule, 'authHeaders' | 'readUsage' | 'capacity'> = {
  authHeaders: (apiKey) => bearerHeaders(apiKey),
  readUsage: openAIUsage,
  capacity: waitingCapacity,
};
