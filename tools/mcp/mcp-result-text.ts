import type { CallToolResult, GetPromptResult, ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { delimitUntrusted } from '../policy/untrusted.js';

type ContentPart = CallToolResult['content'][number];

/**
 * Turns MCP tool result content into the one string a model reads: text parts joined, binary
 * parts summarised (models get a note, not base64), structured content as JSON when there is no text.
 */
export function mcpResultText(result: CallToolResult): string {
  // The usual answer, one text part, without building arrays.
  const only = result.content.length === 1 ? result.content[0]! : undefined;
  if (only?.type === 'text' && only.text.length > 0) return only.text;
  const parts = result.content.map(partText).filter((text) => text.length > 0);
  if (parts.length === 0 && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return parts.join('\n');
}

function partText(part: ContentPart): string {
  switch (part.type) {
    case 'text':
      return part.text;
    case 'image':
      return `[image: ${part.mimeType}, ${approxBytes(part.data)} bytes]`;
    case 'audio':
      return `[audio: ${part.mimeType}, ${approxBytes(part.data)} bytes]`;
    case 'resource_link':
      return `[resource link: ${part.uri}${part.name ? ` (${part.name})` : ''}]`;
    case 'resource': {
      const resource = part.resource;
      return 'text' in resource && typeof resource.text === 'string'
        ? `[resource ${resource.uri}]\n${resource.text}`
        : `[resource ${resource.uri}: ${resource.mimeType ?? 'binary'}]`;
    }
    default:
      return '';
  }
}

/**
 * A prompt's messages as one text, for a run's goal or a task's instructions: the user's parts as
 * they are, an assistant's marked as such, a resource embedded in the prompt inside untrusted-data
 * delimiters (its contents are data, not instructions), binary parts summarised.
 */
export function mcpPromptText(prompt: GetPromptResult, server: string): string {
  return prompt.messages
    .map((message) => {
      const part = message.content;
      const text = part.type === 'resource' ? delimitUntrusted(server, partText(part)) : partText(part);
      return message.role === 'assistant' ? `(assistant) ${text}` : text;
    })
    .filter((text) => text.length > 0)
    .join('\n\n');
}

/** The text of a `resources/read` result, binary entries summarised. */
export function mcpResourceText(result: ReadResourceResult): string {
  return result.contents
    .map((entry) =>
      'text' in entry && typeof entry.text === 'string'
        ? entry.text
        : `[${entry.uri}: ${entry.mimeType ?? 'binary'}, ${'blob' in entry && typeof entry.blob === 'string' ? approxBytes(entry.blob) : 0} bytes]`,
    )
    .join('\n');
}

const approxBytes = (base64: string): number => Math.floor((base64.length * 3) / 4);
