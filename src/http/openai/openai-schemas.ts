import { Type } from 'typebox';

// OpenAI bodies carry many optional fields we pass through, so unknown fields
// are allowed here; the ones routing depends on are checked strictly.
const model = Type.String({ minLength: 1, maxLength: 256 });
const positiveInteger = Type.Integer({ minimum: 1 });
const open = { additionalProperties: true } as const;

export const ChatBody = Type.Object(
  {
    model,
    messages: Type.Array(Type.Object({ role: Type.String({ minLength: 1 }) }, open), { minItems: 1 }),
    stream: Type.Optional(Type.Boolean()),
    max_tokens: Type.Optional(Type.Union([positiveInteger, Type.Null()])),
    max_completion_tokens: Type.Optional(Type.Union([positiveInteger, Type.Null()])),
    n: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 128 }), Type.Null()])),
    temperature: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 2 }), Type.Null()])),
  },
  open,
);

export const CompletionBody = Type.Object(
  {
    model,
    prompt: Type.Union([Type.String(), Type.Array(Type.Unknown(), { minItems: 1 })]),
    stream: Type.Optional(Type.Boolean()),
    max_tokens: Type.Optional(Type.Union([positiveInteger, Type.Null()])),
  },
  open,
);

export const EmbeddingsBody = Type.Object(
  {
    model,
    input: Type.Union([Type.String(), Type.Array(Type.Unknown(), { minItems: 1, maxItems: 100_000 })]),
    encoding_format: Type.Optional(Type.Enum(['float', 'base64'] as const)),
    dimensions: Type.Optional(positiveInteger),
  },
  open,
);

export const RerankBody = Type.Object(
  {
    model,
    query: Type.String({ minLength: 1 }),
    documents: Type.Array(Type.Union([Type.String(), Type.Object({ text: Type.String() }, open)]), { minItems: 1, maxItems: 10_000 }),
    top_n: Type.Optional(positiveInteger),
    return_documents: Type.Optional(Type.Boolean()),
  },
  open,
);

/** Fields a caller could use to steer our traffic elsewhere; dropped before anything is forwarded. */
export const steeringFields = ['api_base', 'base_url', 'custom_host', 'api_key', 'api_version', 'extra_headers', 'extra_query'] as const;
