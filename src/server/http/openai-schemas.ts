import { z } from '@hono/zod-openapi';
import { userPattern } from './api-key-auth.js';

/** An error on `/v1`, in OpenAI's shape, so OpenAI clients raise their own error classes. */
export const OpenAIErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string().openapi({ example: 'invalid_request_error' }),
      param: z.string().nullable(),
      code: z.string().nullable().openapi({ example: 'model_not_found' }),
    }),
  })
  .openapi('OpenAIError');

const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() }).loose();
const PartSchema = z.object({ type: z.string() }).loose();

/** One message of the conversation; only text reaches the run. */
export const ChatMessageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
    content: z.union([z.string(), z.array(z.union([TextPartSchema, PartSchema])), z.null()]).optional(),
    name: z.string().optional(),
  })
  .loose()
  .openapi('ChatMessage');

/**
 * The body of `POST /v1/chat/completions`. `model` names a registered team or agent. Sampling
 * settings (temperature, max_tokens, …) are accepted and ignored: the team's own models decide.
 */
export const ChatCompletionRequestSchema = z
  .object({
    model: z.string().min(1).openapi({ example: 'demo' }),
    messages: z.array(ChatMessageSchema).min(1).max(1_000),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
    /** The end user the run is kept for, as `X-Cadre-User`: one user never sees another's runs. */
    user: z.union([z.literal(''), z.string().regex(userPattern, '1-128 letters, digits or _ . @ : + -')]).optional(),
    n: z.number().int().nullable().optional(),
    /** Refused with 400, or dropped when the server's `openaiTools` setting is `ignore`. */
    tools: z.array(z.unknown()).nullable().optional(),
    functions: z.array(z.unknown()).nullable().optional(),
    tool_choice: z.unknown().optional(),
    function_call: z.unknown().optional(),
  })
  .loose()
  .openapi('ChatCompletionRequest');

export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export const UsageSchema = z
  .object({
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    total_tokens: z.number().int(),
  })
  .openapi('CompletionUsage');

/** The answer of a run as a `chat.completion`; `id` is `chatcmpl-<run id>`. */
export const ChatCompletionSchema = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({
          role: z.literal('assistant'),
          content: z.string().nullable(),
          refusal: z.null(),
        }),
        finish_reason: z.enum(['stop', 'length']),
        logprobs: z.null(),
      }),
    ),
    usage: UsageSchema,
  })
  .openapi('ChatCompletion');

/** `stream: true`: SSE of `chat.completion.chunk` objects, ending with `data: [DONE]`. */
export const ChatCompletionStreamSchema = z.string().openapi({
  description:
    'Server-sent events: each `data:` is a `chat.completion.chunk` (the answer\'s text as it streams), then one with `finish_reason`, with `stream_options.include_usage` one with `usage` and no choices, and last `data: [DONE]`. A run that ends without an answer sends `data: {"error": {...}}` instead of the finish.',
});

export const ModelSchema = z
  .object({
    id: z.string().openapi({ example: 'demo' }),
    object: z.literal('model'),
    created: z.number().int(),
    owned_by: z.string().openapi({ example: 'cadre' }),
    /** Whether the id names a registered team or a registered agent. */
    kind: z.enum(['team', 'agent']),
  })
  .openapi('Model');

export const ModelListSchema = z.object({ object: z.literal('list'), data: z.array(ModelSchema) }).openapi('ModelList');

export const ModelParams = z.object({
  model: z
    .string()
    .min(1)
    .openapi({ param: { name: 'model', in: 'path' }, example: 'demo' }),
});
