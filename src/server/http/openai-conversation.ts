import { CadreError } from '../../core/index.js';
import type { ChatMessage } from './openai-schemas.js';

/**
 * The run a chat conversation becomes: its last message (a user's) is the goal, and the turns
 * before it follow, clearly marked as context inside a `<conversation>` block whose end tag no turn
 * can forge. The one place the OpenAI endpoint turns messages into a goal, so that threads can
 * later take the earlier turns from their own history instead.
 */
export function conversationGoal(messages: readonly ChatMessage[]): string {
  const last = messages.at(-1);
  if (last?.role !== 'user')
    throw new CadreError('input_invalid', 'The last message must be from the user: it is what the run answers', {
      details: { param: 'messages' },
    });
  const question = textOf(last, messages.length - 1).trim();
  if (!question)
    throw new CadreError('input_invalid', 'The last user message has no text', { details: { param: 'messages' } });
  const earlier = messages
    .slice(0, -1)
    .map((message, i) => ({ role: message.role, text: textOf(message, i).trim() }))
    .filter((turn) => turn.text !== '');
  if (earlier.length === 0) return question;
  const turns = earlier.map((turn) => `[${turn.role}]\n${turn.text.replace(/<(\/?conversation)>/gi, '&lt;$1&gt;')}`);
  return `${question}\n\nEarlier turns of this conversation, for context (answer the message above):\n<conversation>\n${turns.join('\n\n')}\n</conversation>`;
}

/** A message's text: a string, or its text parts joined; any other part (an image, audio) is refused. */
function textOf(message: ChatMessage, index: number): string {
  const { content } = message;
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part) => {
      if (part.type === 'text' && typeof part.text === 'string') return part.text;
      throw new CadreError(
        'input_invalid',
        `messages[${index}] has a "${part.type}" part; only text reaches a cadre run`,
        { details: { param: `messages[${index}].content` } },
      );
    })
    .join('\n');
}
