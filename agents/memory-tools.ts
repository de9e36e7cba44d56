import { z } from 'zod';
import type { Memory, Scope } from '../memory/index.js';
import { refusalOf } from '../src/models/privacy-errors.js';
import { defineTool, type Tool } from '../tools/define-tool.js';

/**
 * The tools an agent uses to reach shared memory: `remember` (store a note), `recall` (search
 * every tier) and `graph_query` (facts about an entity, optionally as of a date). All work inside
 * `scope`; what they return is data for the model, like any tool output.
 */
export function createMemoryTools(memory: Memory, options: { scope?: Scope; tokenBudget?: number } = {}): Tool[] {
  const scope = options.scope ?? memory.scope;
  return [
    defineTool({
      name: 'remember',
      description: 'Store a short note in shared memory so that later tasks and runs can recall it.',
      input: z.object({ text: z.string().min(1).max(4000), kind: z.string().max(40).optional() }),
      effects: 'write',
      // The id comes from scope and text, so storing the same note twice keeps one copy.
      idempotent: true,
      run: async ({ text, kind }, call) => {
        try {
          const { id } = await memory.remember(text, {
            scope,
            kind: kind ?? 'note',
            source: `${call.runId}/${call.taskId}`,
          });
          return `remembered (${id.slice(0, 8)})`;
        } catch (error) {
          // An answer, not a failure: retrying cannot help, and the model should carry on without it.
          const refusal = refusalOf(error);
          if (!refusal) throw error;
          return `not remembered: ${refusal.reason === 'sensitive' ? 'this run is sensitive' : `the note holds ${refusal.found?.join(', ')}`} and memory's embedder is a cloud model`;
        }
      },
    }),
    defineTool({
      name: 'recall',
      description: 'Search shared memory (notes, results of earlier tasks, lessons, facts, plans that worked).',
      input: z.object({ query: z.string().min(1).max(1000) }),
      effects: 'read',
      run: async ({ query }) => {
        const found = await memory.recall(query, { scopes: [scope], tokenBudget: options.tokenBudget ?? 600 });
        return found.items.length ? found.text : 'Nothing relevant in memory.';
      },
    }),
    defineTool({
      name: 'graph_query',
      description: 'Facts the knowledge graph holds about an entity, optionally as they were on a date (YYYY-MM-DD).',
      input: z.object({
        entity: z.string().min(1).max(200),
        asOf: z
          .string()
          .regex(/^\d{4}-\d{2}-\d{2}/)
          .optional(),
      }),
      effects: 'read',
      run: async ({ entity, asOf }) => {
        const at = asOf ? Date.parse(asOf) : undefined;
        const found = await memory.recall(entity, {
          scopes: [scope],
          tiers: ['graph'],
          ...(at !== undefined && !Number.isNaN(at) ? { asOf: at } : {}),
        });
        return found.items.length ? found.text : `No facts about "${entity}".`;
      },
    }),
  ];
}
