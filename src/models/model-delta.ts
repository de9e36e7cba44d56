import type { AIMessageChunk } from '@langchain/core/messages';
import type { CadreEventPayload } from '../core/index.js';

/** A `model.delta` event's payload. */
export type ModelDeltaPayload = Extract<CadreEventPayload, { type: 'model.delta' }>;

/** Text in a chunk: a string, or the text blocks of block content (Anthropic's, when tools are bound). */
function chunkText(content: AIMessageChunk['content']): string {
  if (typeof content === 'string') return content;
  let text = '';
  for (const block of content) if (block.type === 'text' && typeof block.text === 'string') text += block.text;
  return text;
}

/**
 * The `model.delta` payloads one streamed chunk makes: its text, then each piece of a tool call.
 * Empty for a chunk that carries only usage or metadata.
 */
export function modelDeltas(
  chunk: AIMessageChunk,
  where: { taskId: string; agent: string; step: number },
): ModelDeltaPayload[] {
  const out: ModelDeltaPayload[] = [];
  const text = chunkText(chunk.content);
  if (text) out.push({ type: 'model.delta', ...where, text });
  for (const call of chunk.tool_call_chunks ?? []) {
    if (!call.id && !call.name && !call.args) continue;
    out.push({
      type: 'model.delta',
      ...where,
      toolCall: {
        index: call.index ?? 0,
        ...(call.id ? { id: call.id } : {}),
        ...(call.name ? { name: call.name } : {}),
        argsDelta: call.args ?? '',
      },
    });
  }
  return out;
}
