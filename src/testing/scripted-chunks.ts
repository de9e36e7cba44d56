import { AIMessageChunk, type AIMessage, type ToolCallChunk } from '@langchain/core/messages';

const split = (text: string, size: number): string[] => {
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += size) pieces.push(text.slice(at, at + size));
  return pieces;
};

/**
 * A whole reply as the chunks a streaming provider would send: the text in pieces of `size`
 * characters, then each tool call with its id and name first and its argument JSON in pieces, as
 * `tool_call_chunks`. Usage and metadata ride on the last chunk only, so the chunks concatenated
 * are the reply again (LangChain adds up usage over chunks).
 */
export function chunkReply(message: AIMessage, size: number): AIMessageChunk[] {
  const text = typeof message.content === 'string' ? message.content : '';
  const chunks = split(text, size).map((piece) => new AIMessageChunk({ content: piece }));
  (message.tool_calls ?? []).forEach((call, index) => {
    const args = split(JSON.stringify(call.args), size);
    args.forEach((piece, i) => {
      const first: Partial<ToolCallChunk> = i === 0 ? { id: call.id, name: call.name } : {};
      chunks.push(
        new AIMessageChunk({
          content: '',
          tool_call_chunks: [{ ...first, args: piece, index, type: 'tool_call_chunk' }],
        }),
      );
    });
  });
  const last = new AIMessageChunk({
    content: '',
    ...(message.usage_metadata ? { usage_metadata: message.usage_metadata } : {}),
    response_metadata: message.response_metadata,
  });
  // The closing fields join the last piece rather than add an empty chunk.
  const tail = chunks.pop();
  chunks.push(tail ? tail.concat(last) : last);
  return chunks;
}
