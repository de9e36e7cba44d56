import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemory, isVisible, type Memory, type Scope } from 'cadre/memory';

let memory: Memory;
beforeAll(async () => {
  memory = await createMemory({ dir: mkdtempSync(join(tmpdir(), 'cadre-isolation-')), env: {} });
});
afterAll(async () => {
  await memory.close();
});

const words = ['invoice', 'deploy', 'staging', 'refund', 'latency', 'backup', 'report', 'login'];
const scopeArb = (prefix: string) =>
  fc.record({
    tenant: fc.constantFrom(`${prefix}a`, `${prefix}b`),
    user: fc.option(fc.constantFrom('u1', 'u2'), { nil: undefined }),
    run: fc.option(fc.constantFrom('r1', 'r2'), { nil: undefined }),
  }).map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as Scope);

let round = 0;
describe('memory isolation', () => {
  it('never returns an item from outside the query scope, in any tier (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1e9 }).chain((n) => {
          const prefix = `t${n}x${round++}`;
          const item = fc.record({ scope: scopeArb(prefix), words: fc.array(fc.constantFrom(...words), { minLength: 2, maxLength: 5 }), lesson: fc.boolean() });
          return fc.record({ items: fc.array(item, { minLength: 1, maxLength: 12 }), query: scopeArb(prefix), text: fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 3 }) });
        }),
        async ({ items, query, text }) => {
          const owner = new Map<string, Scope>();
          for (const [i, item] of items.entries()) {
            const sentence = `the ${item.words.join(' ')} task ${i}`;
            const { id } = await memory.remember(sentence, { scope: item.scope });
            owner.set(id, item.scope);
            const episodeId = `${JSON.stringify(item.scope)}-${i}-${sentence}`;
            await memory.episodes.add({ id: episodeId, runId: 'r', taskId: `t${i}`, task: sentence, outcome: 'failure', importance: 0.5, createdAt: Date.now(), scope: item.scope, ...(item.lesson ? { lesson: `lesson ${i}` } : {}) });
            owner.set(episodeId, item.scope);
          }
          const found = await memory.recall(text.join(' '), { scopes: [query], k: 50, tokenBudget: 100_000 });
          for (const hit of found.items) {
            expect(isVisible(hit.scope, query)).toBe(true);
            const stored = owner.get(hit.id);
            if (stored) expect(isVisible(stored, query)).toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
