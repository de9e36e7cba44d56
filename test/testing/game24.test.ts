import { HumanMessage } from '@langchain/core/messages';
import { describe, expect, it } from 'vitest';
import { checkGame24, game24Model, game24Solutions, game24Task, judgeGame24, solve24 } from 'cadre/testing';

/** Every multiset of four numbers from 1 to 13. */
function* puzzles(): Generator<number[]> {
  for (let a = 1; a <= 13; a++)
    for (let b = a; b <= 13; b++) for (let c = b; c <= 13; c++) for (let d = c; d <= 13; d++) yield [a, b, c, d];
}

describe('Game of 24 solver', () => {
  it('finds 1362 solvable puzzles among the 1820 of four numbers from 1 to 13, each answer checking out', () => {
    let total = 0;
    let solvable = 0;
    for (const numbers of puzzles()) {
      total += 1;
      const solution = solve24(numbers);
      if (solution === undefined) continue;
      solvable += 1;
      expect(checkGame24(solution, numbers), `${numbers.join(' ')}: ${solution}`).toBe(true);
    }
    expect(total).toBe(1820);
    expect(solvable).toBe(1362);
  });

  it('knows well-known puzzles: 4 9 10 13 and 3 3 8 8 (only through a fraction) solvable, 1 1 1 1 not', () => {
    expect(solve24([4, 9, 10, 13])).toBeDefined();
    expect(solve24([1, 1, 1, 1])).toBeUndefined();
    expect(solve24([1, 1, 1, 2])).toBeUndefined();
    expect(game24Solutions([3, 3, 8, 8])).toEqual([{ expression: '8 / (3 - 8 / 3)', needsFractions: true }]);
    expect(game24Solutions([4, 9, 10, 13]).map((s) => s.needsFractions)).not.toContain(true);
  });

  it('counts solutions that differ only in order or grouping once', () => {
    // (10 - 4) * (13 - 9) and 4 * (9 + 10 - 13): the two ways 4nums.com lists.
    expect(game24Solutions([4, 9, 10, 13])).toHaveLength(2);
    expect(game24Solutions([1, 1, 1, 8])).toEqual([{ expression: '8 * (1 + 1 + 1)', needsFractions: false }]);
    expect(solve24([2, 3, 4], 9)).toBeDefined();
  });
});

describe('checkGame24', () => {
  const numbers = [4, 9, 10, 13];

  it('accepts a right answer with an Answer: prefix, a "= 24" suffix, or × and ÷', () => {
    expect(checkGame24('(13 - 9) * (10 - 4)', numbers)).toBe(true);
    expect(checkGame24('Answer: (13 - 9) * (10 - 4) = 24', numbers)).toBe(true);
    expect(checkGame24('4 × (9 + 10 − 13)', numbers)).toBe(true);
    expect(checkGame24('8 ÷ (3 − 8 ÷ 3)', [3, 3, 8, 8])).toBe(true);
  });

  it('rejects reused, missing and foreign numbers, wrong results and other syntax, saying why', () => {
    expect(judgeGame24('(13 - 13) * (10 - 4)', numbers)).toEqual({
      ok: false,
      reason: 'uses 13 more often than the puzzle gives it',
    });
    expect(judgeGame24('(13 - 9) * 10', numbers)).toEqual({ ok: false, reason: 'does not use 4' });
    expect(judgeGame24('(13 - 9) * (10 - 5)', numbers)).toMatchObject({ ok: false });
    expect(judgeGame24('4 + 9 + 10 + 13', numbers)).toEqual({ ok: false, reason: 'equals 36/1' });
    expect(judgeGame24('(13 - 9) * (10 - 4) = 25', numbers)).toEqual({ ok: false, reason: 'claims 25' });
    expect(checkGame24('4 * 6', [4, 6, 1])).toBe(false);
    for (const bad of ['(13 - 9) * (10 - 4', '-4 + 9 + 10 + 9', '13 ** 9 - 10 - 4', 'process.exit()', '4 9 10 13', ''])
      expect(checkGame24(bad, numbers), bad).toBe(false);
    expect(judgeGame24('4 / (9 - 9)', [4, 9, 9])).toEqual({ ok: false, reason: 'division by zero' });
  });
});

describe('game24Model', () => {
  const ask = async (model: ReturnType<typeof game24Model>, text: string) =>
    String((await model.invoke([new HumanMessage(text)])).content);
  const task = game24Task([4, 9, 10, 13]);

  it('answers right as often as its accuracy says, over many puzzles', async () => {
    const model = game24Model({ accuracy: 0.3, seed: 9 });
    let right = 0;
    const solvable = [...puzzles()].filter((n) => solve24(n)).slice(0, 400);
    for (const numbers of solvable) {
      const reply = await ask(model, game24Task(numbers));
      if (checkGame24(reply.split('Answer:')[1] ?? '', numbers)) right += 1;
    }
    // 0.3 within three standard errors over 400 puzzles.
    expect(Math.abs(right / 400 - 0.3)).toBeLessThan(3 * Math.sqrt((0.3 * 0.7) / 400));
  });

  it('proposes steps in the paper format, one on a path to 24 when it is right, none when it is wrong', async () => {
    const prompt = `${task}\n\nSteps so far:\n13 - 9 = 4 (left: 4 4 10)\n\nPropose up to 4 possible next steps`;
    const good = (await ask(game24Model({ accuracy: 1 }), prompt)).split('\n');
    expect(good.length).toBeLessThanOrEqual(4);
    for (const line of good) expect(line).toMatch(/^\S+ [-+*/] \S+ = \S+ \(left: [\d/ ]+\)$/);
    const stillSolvable = (line: string) =>
      solve24(/left: ([^)]*)/.exec(line)![1]!.split(' ').map(Number)) !== undefined;
    expect(good.some(stillSolvable)).toBe(true);
    const bad = (await ask(game24Model({ accuracy: 0 }), prompt)).split('\n');
    expect(bad.filter((l) => !l.includes('/')).some(stillSolvable)).toBe(false);
  });

  it('writes an answer only when the steps end at 24; short of 24 it claims one only as often as it proposes wrong', async () => {
    const after = (steps: string[]) =>
      `${task}\n\nSteps so far:\n${steps.join('\n')}\n\nPropose up to 8 possible next steps`;
    // (13 - 9) * (10 - 4) = 24; (13 - 9) + (10 - 4) = 10.
    const at24 = ['13 - 9 = 4 (left: 4 10 4)', '10 - 4 = 6 (left: 4 6)', '4 * 6 = 24 (left: 24)'];
    const at10 = ['13 - 9 = 4 (left: 4 10 4)', '10 - 4 = 6 (left: 4 6)', '4 + 6 = 10 (left: 10)'];
    const right = await ask(game24Model({ accuracy: 0, proposeAccuracy: 0, seed: 4 }), after(at24));
    expect(checkGame24(right, [4, 9, 10, 13]), right).toBe(true);
    expect(await ask(game24Model({ accuracy: 0, proposeAccuracy: 1 }), after(at10))).not.toMatch(/Answer:/);

    let claims = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const reply = await ask(game24Model({ accuracy: 0, proposeAccuracy: 0.8, seed }), after(at10));
      if (reply.startsWith('Answer:')) {
        claims += 1;
        // A wrong claim the value step can judge: the expression the steps built, which is not 24.
        expect(judgeGame24(reply, [4, 9, 10, 13])).toEqual({ ok: false, reason: 'equals 10/1' });
      }
    }
    expect(Math.abs(claims / 400 - 0.2)).toBeLessThan(3 * Math.sqrt((0.2 * 0.8) / 400));
  });

  it('reads the puzzle after "Input:" even when other numbers come first', async () => {
    const reply = await ask(game24Model({ accuracy: 1 }), `Scores so far: 1, 2, 3, 4.\n\n${game24Task([3, 3, 8, 8])}`);
    expect(checkGame24(reply.split('Answer:')[1] ?? '', [3, 3, 8, 8]), reply).toBe(true);
  });

  it('values states with the solver: sure when 24 is reachable, impossible when not', async () => {
    const model = game24Model({ accuracy: 1 });
    const state = (step: string) =>
      `${task}\n\nSteps so far:\n${step}\n\nEvaluate whether these steps can still lead to 24`;
    expect((await ask(model, state('13 - 9 = 4 (left: 4 4 10)'))).split('\n').at(-1)).toBe('sure');
    expect((await ask(model, state('13 + 10 = 23 (left: 4 9 23)'))).split('\n').at(-1)).toBe('impossible');
  });

  it('repeats itself for the same seed and rejects an accuracy outside [0, 1]', async () => {
    const a = await ask(game24Model({ accuracy: 0.5, seed: 3 }), task);
    const b = await ask(game24Model({ accuracy: 0.5, seed: 3 }), task);
    expect(a).toBe(b);
    expect(() => game24Model({ accuracy: 1.5 })).toThrow(expect.objectContaining({ code: 'input_invalid' }) as Error);
  });
});
