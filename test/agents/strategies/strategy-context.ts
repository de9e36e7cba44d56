import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { Budget, InMemoryStepJournal, RunEventStream, type CadreEvent, type StepJournal } from 'cadre';
import type { AgentContext } from 'cadre/agents';
import { createFixedRouter, type ModelRouter, type RouteRequest } from 'cadre/models';

/** An AgentContext over one model, with every event and every route request kept for the test to read. */
export function strategyContext(
  model: BaseChatModel,
  options: { journal?: StepJournal; runId?: string; budget?: Budget } = {},
): AgentContext & { seen: CadreEvent[]; routed: RouteRequest[] } {
  const runId = options.runId ?? 'run_s';
  const events = new RunEventStream(runId);
  const seen: CadreEvent[] = [];
  events.on('*', (e) => seen.push(e));
  const fixed = createFixedRouter(model);
  const routed: RouteRequest[] = [];
  const router: ModelRouter = {
    candidates: fixed.candidates,
    select: (request) => {
      routed.push(request);
      return fixed.select(request);
    },
  };
  return {
    runId,
    router,
    events,
    budget: options.budget ?? new Budget({}),
    journal: options.journal ?? new InMemoryStepJournal(),
    signal: new AbortController().signal,
    seen,
    routed,
  };
}

/** The strategy events among `seen`, by type (their types are not in cadre's event union yet). */
export function strategyEvents(seen: readonly CadreEvent[], type: 'strategy.node' | 'strategy.decided') {
  return seen.filter((e) => (e.type as string) === type) as unknown as Array<Record<string, unknown>>;
}
