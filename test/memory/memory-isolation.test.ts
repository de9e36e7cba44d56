import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemory, type Memory, type Scope } from 'cadre/memory';
import { mayRead } from '../fixtures/scope-rule.js';

let memory: Memory;
beforeAll(async () => {
  memory = await createMemory({ dir: mkdtempSync(join(tmpdir(), 'cadre-isolation-')), env: {} });
});
afterAll(async () => {
  await memory.close();
});

const words = ['invoice', 'deploy', 'staging', 'refund', 'latency', 'backup', 'report', 'login'];
const scopeArb = (prefix: string) =>
  fc
    .record({
      tenant: fc.constantFrom(`${prefix}a`, `${prefix}b`),
      // Half the levels unset, so items shared at a level (which many queries see) are common.
      user: fc.option(fc.constantFrom('u1', 'u2'), { nil: undefined, freq: 2 }),
      run: fc.option(fc.constantFrom('r1', 'r2'), { nil: undefined, freq: 2 }),
    })
    .map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as Scope);

let round = 0;
describe('memory isolation', () => {
  it('returns every visible note and nothing from outside the query scope, in any tier (property)', async () => {
    const seen = { hidden: 0, notes: 0, episodes: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1e9 }).chain((n) => {
          const prefix = `t${n}x${round++}`;
          const item = fc.record({
            scope: scopeArb(prefix),
            words: fc.array(fc.constantFrom(...words), { minLength: 2, maxLength: 5 }),
            lesson: fc.boolean(),
          });
          return fc.record({
            items: fc.array(item, { minLength: 1, maxLength: 12 }),
            query: scopeArb(prefix),
            text: fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 3 }),
          });
        }),
        async ({ items, query, text }) => {
          // Each round has its own tenants, so everything recalled must be from this round.
          const owner = new Map<string, Scope>();
          const notes = new Set<string>();
          for (const [i, item] of items.entries()) {
            const sentence = `the ${item.words.join(' ')} task ${i}`;
            const { id } = await memory.remember(sentence, { scope: item.scope });
            owner.set(id, item.scope);
            notes.add(id);
            const episodeId = `${JSON.stringify(item.scope)}-${i}-${sentence}`;
            await memory.episodes.add({
              id: episodeId,
              runId: 'r',
              taskId: `t${i}`,
              task: sentence,
              outcome: 'failure',
              importance: 0.5,
              createdAt: Date.now(),
              scope: item.scope,
              ...(item.lesson ? { lesson: `lesson ${i}` } : {}),
            });
            owner.set(episodeId, item.scope);
          }
          const found = await memory.recall(text.join(' '), { scopes: [query], k: 50, tokenBudget: 100_000 });
          for (const hit of found.items) {
            expect(owner.get(hit.id), `${hit.tier} item ${hit.id} was not stored in this round`).toBeDefined();
            expect(hit.scope).toEqual(owner.get(hit.id));
            expect(mayRead(query, hit.scope), `${JSON.stringify(hit.scope)} recalled in ${JSON.stringify(query)}`).toBe(
              true,
            );
          }
          // The vector tier returns the k nearest whatever their score, and k exceeds the notes stored.
          const visibleNotes = [...notes].filter((id) => mayRead(query, owner.get(id)!));
          expect(
            found.items
              .filter((hit) => hit.tier === 'vector')
              .map((hit) => hit.id)
              .sort(),
          ).toEqual(visibleNotes.sort());
          seen.hidden += items.filter((item) => !mayRead(query, item.scope)).length;
          seen.notes += visibleNotes.length;
          seen.episodes += found.items.filter((hit) => hit.tier === 'episodic').length;
        },
      ),
      { numRuns: 40 },
    );
    // The generator must store items the query may not see, and recall both tiers, or this proves little.
    expect(seen.hidden).toBeGreaterThan(60);
    expect(seen.notes).toBeGreaterThan(15);
    expect(seen.episodes).toBeGreaterThan(10);
  });
});
