import { z } from 'zod';
import { CadreError } from '../../src/core/index.js';
import type { Agent, AgentContext, AgentTask, TaskResult } from '../agent.js';
import { cotInstructions } from './cot.js';
import { MajorityVote } from './majority-vote.js';
import { checkStrategyOptions, extractAnswer, fn, strategyShape, type StrategyOptions } from './strategy-options.js';
import { StrategyRun, taskText, type StrategyReply } from './strategy-run.js';

/** Self-consistency's sampling, voting and stopping. */
export interface SelfConsistencyOptions extends StrategyOptions {
  /** Reasoning passes to sample, at most 100. */
  samples: number;
  /** Sampling temperature, passed per call to models that take it. Default 0.7. */
  temperature?: number;
  /** Replaces the majority vote: picks the answer from every sample's answer, in sample order. */
  aggregate?: (answers: readonly string[]) => { answer: string; confidence: number };
  /** The key answers vote under. Default: case, spacing and a final period do not count. */
  normalize?: (answer: string) => string;
  /** Stop sampling once the remaining samples could not change the winner. Default true; majority vote only. */
  earlyStop?: boolean;
  /**
   * Samples in flight at once. Default: without early stop, all of them; with it, as many as could
   * decide the vote (3 of 5 at first), then more while it is open.
   */
  concurrency?: number;
}

/** A self-consistency answer with how sure the vote was. */
export interface SelfConsistencyResult extends TaskResult {
  /** The winner's share of the answers given, in [0, 1] (the aggregator's figure when there is one). */
  confidence: number;
  /** Answers per distinct answer, as first given. */
  votes: Record<string, number>;
  /** Samples taken: fewer than asked when sampling stopped early. */
  samplesTaken: number;
  stoppedEarly: boolean;
}

/** An Agent whose results carry self-consistency's confidence and votes. */
export interface SelfConsistencyAgent extends Agent {
  run(task: AgentTask, context: AgentContext): Promise<SelfConsistencyResult>;
}

const shape = strategyShape({
  samples: z.number().int().min(1).max(100),
  temperature: z.number().min(0).max(2).optional(),
  aggregate: fn().optional(),
  normalize: fn().optional(),
  earlyStop: z.boolean().optional(),
  concurrency: z.number().int().min(1).optional(),
});

/**
 * Self-consistency (Wang et al. 2023): samples several chain-of-thought passes in parallel and
 * answers by majority vote over their final answers (or by `aggregate`). Each sample is journaled
 * as `<task>/sample-<n>`, so a re-run replays them; recorded samples are counted first, and when
 * the vote is already decided no new sample is asked for.
 */
export function selfConsistency(options: SelfConsistencyOptions): SelfConsistencyAgent {
  checkStrategyOptions('selfConsistency', shape, options);
  if (options.aggregate && options.earlyStop)
    throw new CadreError(
      'input_invalid',
      'Invalid selfConsistency options: earlyStop needs the majority vote, not aggregate',
    );
  const extract = options.extract ?? extractAnswer;
  const earlyStop = options.earlyStop ?? !options.aggregate;
  return {
    name: options.name ?? 'self-consistency',
    ...(options.role ? { role: options.role } : {}),
    async run(task, ctx) {
      const run = new StrategyRun(task, ctx, 'self-consistency', options.model);
      const { samples } = options;
      const vote = new MajorityVote(options.normalize);
      const answers: Array<string | undefined> = [];
      let taken = 0;
      const sample = (n: number, signal?: AbortSignal) =>
        run.call({
          key: `sample-${n}`,
          kind: options.taskKind ?? task.kind ?? 'reason',
          system: options.instructions ?? cotInstructions,
          prompt: taskText(task),
          temperature: options.temperature ?? 0.7,
          ...(signal ? { signal } : {}),
        });
      const count = (n: number, reply: StrategyReply) => {
        const answer = extract(reply.content);
        answers[n - 1] = answer;
        taken += 1;
        if (answer !== undefined) vote.add(answer);
        run.emit({
          type: 'strategy.node',
          node: `sample-${n}`,
          depth: 1,
          text: answer ?? reply.content,
          status: answer === undefined ? 'failed' : 'answer',
        });
      };
      const decided = () => earlyStop && vote.certain(samples - taken);
      const waveSize = () => {
        if (!earlyStop) return samples;
        const { leader = 0, runnerUp = 0 } = vote.standing();
        return Math.floor((runnerUp + (samples - taken) - leader) / 2) + 1;
      };

      // Recorded samples first: a re-run that was already decided by them asks the model nothing.
      const missing: number[] = [];
      for (let n = 1; n <= samples; n++) {
        if (decided()) break;
        if (await run.recorded(`sample-${n}`)) count(n, await sample(n));
        else missing.push(n);
      }
      const stop = new AbortController();
      let next = 0;
      while (next < missing.length && !decided()) {
        // With early stop, a wave is the fewest samples that could decide the vote if they all agreed
        // with the leader; without it, every sample at once.
        const wave = missing.slice(next, next + Math.min(options.concurrency ?? samples, waveSize()));
        next += wave.length;
        const settled = await Promise.allSettled(
          wave.map(async (n) => {
            count(n, await sample(n, stop.signal));
            if (decided()) stop.abort();
          }),
        );
        // A failed sample (budget, cancellation) fails the task once its siblings have finished and
        // are journaled, so a re-run replays them; a sample cut short by the early stop is no failure.
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed && !(stop.signal.aborted && !ctx.signal.aborted)) throw failed.reason;
      }

      const given = answers.filter((a): a is string => a !== undefined);
      if (given.length === 0) {
        const { usage, costUsd } = run.result('');
        throw new CadreError('task_failed', `None of the ${taken} samples of task ${task.id} gave an answer`, {
          details: { samples: taken, calls: run.calls, usage, costUsd },
        });
      }
      const picked = options.aggregate ? options.aggregate(given) : vote.leader()!;
      const votes = vote.tally();
      const stoppedEarly = taken < samples;
      run.emit({
        type: 'strategy.decided',
        answer: picked.answer,
        confidence: picked.confidence,
        votes,
        calls: run.calls,
        stoppedEarly,
      });
      return { ...run.result(picked.answer), confidence: picked.confidence, votes, samplesTaken: taken, stoppedEarly };
    },
  };
}
