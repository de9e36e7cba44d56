import { interrupt } from '@langchain/langgraph';

/**
 * The answers one execution of a run was resumed with, kept by the tool call or question each
 * names, and shared by the run's durable gates (tool approvals, MCP servers' questions).
 *
 * interrupt() hands a task its resume values in the order the task asks, yet a re-run asks fewer
 * times (journaled calls are replayed, not asked), parallel calls ask in no fixed order, and one
 * task may have waited for an approval and later for a question. So whichever gate reads a value
 * keeps it for the one it names.
 */
export class InterruptAnswers {
  private readonly known = new Map<string, unknown>();

  /** The answer named `key`, if one has been read. */
  get(key: string): unknown {
    return this.known.get(key);
  }

  /**
   * The answer named `key`: read before, or read now from the task's resume values. When none is
   * left, interrupt() throws and the task stops, waiting with `request`. Call it inside a task.
   */
  ask(key: string, request: unknown): unknown {
    for (;;) {
      if (this.known.has(key)) return this.known.get(key);
      const value: unknown = interrupt(request);
      const named = nameOf(value);
      if (named !== undefined) this.known.set(named, value);
    }
  }
}

// A tool approval's answer names its call; an answer to a question names the question.
function nameOf(value: unknown): string | undefined {
  const answer = value as { call?: unknown; approved?: unknown; question?: unknown; action?: unknown } | null;
  if (typeof answer?.call === 'string' && typeof answer.approved === 'boolean') return answer.call;
  if (typeof answer?.question === 'string' && (answer.action === 'accept' || answer.action === 'decline'))
    return answer.question;
  return undefined;
}
