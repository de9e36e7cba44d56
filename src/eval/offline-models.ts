import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { CadreError } from '../core/index.js';
import { createFixedRouter, type ModelRouter } from '../models/router.js';
import { game24Model } from '../testing/game24-model.js';
import type { ModelSource } from './eval-results.js';
import { oracleModel } from './oracle-model.js';
import type { EvalSuite } from './suite-schema.js';
import { toolScriptModel } from './tool-script-model.js';

/** The suite whose `simulator` picks the offline model, and that model's qualities and seed. */
export interface OfflineModelOptions {
  suite: EvalSuite;
  /**
   * Chance a simulated answer given in one go is right: default 0.04 for `game24` (GPT-4's
   * chain-of-thought in the Tree of Thoughts paper), 0.8 for `oracle`; `tool-script` has none.
   */
  accuracy?: number;
  /** `game24` only: chance a list of proposed next steps holds one that can still reach 24. Default 0.9. */
  proposeAccuracy?: number;
  /** `game24` only: chance a sure / likely / impossible verdict is right. Default 0.9. */
  valueAccuracy?: number;
  /** Default 1. */
  seed?: number;
}

/**
 * The `game24` simulator's defaults: a model poor at answering in one go and good at single steps
 * and at judging them, with which Tree of Thoughts passes an order of magnitude more puzzles than
 * cot and self-consistency, as in the paper's GPT-4 figures (4%, 9%, 74%).
 */
export const game24Defaults = { accuracy: 0.04, proposeAccuracy: 0.9, valueAccuracy: 0.9 } as const;

/**
 * The model that answers a suite with no model reachable, chosen by the suite's `simulator`:
 * `game24` (a Game of 24 solver of known qualities), `oracle` (the suite's expected answers, right
 * with probability `accuracy`; the default) or `tool-script` (calls the tools a task names). Each is
 * a script, not a language model, and `source.description` says so. Throws `input_invalid` for a
 * `game24` quality given to another simulator.
 */
export function offlineModels(options: OfflineModelOptions): { router: ModelRouter; source: ModelSource } {
  const seed = options.seed ?? 1;
  const simulator = options.suite.simulator ?? 'oracle';
  const stepQualities = options.proposeAccuracy !== undefined || options.valueAccuracy !== undefined;
  if (stepQualities && simulator !== 'game24')
    throw new CadreError(
      'input_invalid',
      `proposeAccuracy and valueAccuracy apply to the game24 simulator; suite "${options.suite.name}" uses ${simulator}`,
    );
  const fixed = (model: BaseChatModel, id: string) =>
    createFixedRouter(model, { provider: 'local', model: id, location: 'local' });
  if (simulator === 'tool-script')
    return {
      router: fixed(toolScriptModel(), 'tool-script'),
      source: {
        kind: 'scripted',
        description:
          'the scripted model tool-script (it calls the tool each task names and answers with its output: a script, not a language model)',
      },
    };
  if (simulator === 'game24') {
    const { accuracy, proposeAccuracy, valueAccuracy } = { ...game24Defaults, ...definedOf(options) };
    const qualities = `accuracy ${accuracy}, propose ${proposeAccuracy}, value ${valueAccuracy}, seed ${seed}`;
    return {
      router: fixed(
        game24Model({ accuracy, proposeAccuracy, valueAccuracy, seed }),
        `game24-sim(accuracy=${accuracy},propose=${proposeAccuracy},value=${valueAccuracy},seed=${seed})`,
      ),
      source: {
        kind: 'simulated',
        description: `the simulated model game24-sim (${qualities}: a scripted Game of 24 solver of known quality, not a language model; its pass rates are a simulation)`,
      },
    };
  }
  const accuracy = options.accuracy ?? 0.8;
  const id = `${simulator}-sim(accuracy=${accuracy},seed=${seed})`;
  return {
    router: fixed(oracleModel({ cases: options.suite.cases, accuracy, seed }), id),
    source: {
      kind: 'simulated',
      description: `the simulated model oracle (accuracy ${accuracy}, seed ${seed}: it gives the suite's expected answers with that probability, so it tests the harness, not a model)`,
    },
  };
}

/** The qualities given, without the undefined ones (which would hide the defaults). */
const definedOf = ({ accuracy, proposeAccuracy, valueAccuracy }: OfflineModelOptions) =>
  Object.fromEntries(
    Object.entries({ accuracy, proposeAccuracy, valueAccuracy }).filter(([, value]) => value !== undefined),
  ) as Partial<typeof game24Defaults>;
