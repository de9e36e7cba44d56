import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { createFixedRouter, type ModelRouter } from '../models/router.js';
import { game24Model } from '../testing/game24-model.js';
import type { ModelSource } from './eval-results.js';
import { oracleModel } from './oracle-model.js';
import type { EvalSuite } from './suite-schema.js';
import { toolScriptModel } from './tool-script-model.js';

/** The suite whose `simulator` picks the offline model, and that model's accuracy and seed. */
export interface OfflineModelOptions {
  suite: EvalSuite;
  /** Chance a simulated answer is right: default 0.6 for `game24`, 0.8 for `oracle`; `tool-script` has none. */
  accuracy?: number;
  /** Default 1. */
  seed?: number;
}

/**
 * The model that answers a suite with no model reachable, chosen by the suite's `simulator`:
 * `game24` (a Game of 24 solver of known accuracy), `oracle` (the suite's expected answers, right
 * with probability `accuracy`; the default) or `tool-script` (calls the tools a task names). Each is
 * a script, not a language model, and `source.description` says so.
 */
export function offlineModels(options: OfflineModelOptions): { router: ModelRouter; source: ModelSource } {
  const seed = options.seed ?? 1;
  const simulator = options.suite.simulator ?? 'oracle';
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
  const accuracy = options.accuracy ?? (simulator === 'game24' ? 0.6 : 0.8);
  const id = `${simulator}-sim(accuracy=${accuracy},seed=${seed})`;
  if (simulator === 'game24')
    return {
      router: fixed(game24Model({ accuracy, seed }), id),
      source: {
        kind: 'simulated',
        description: `the simulated model game24-sim (accuracy ${accuracy}, seed ${seed}: a scripted Game of 24 solver of known quality, not a language model)`,
      },
    };
  return {
    router: fixed(oracleModel({ cases: options.suite.cases, accuracy, seed }), id),
    source: {
      kind: 'simulated',
      description: `the simulated model oracle (accuracy ${accuracy}, seed ${seed}: it gives the suite's expected answers with that probability, so it tests the harness, not a model)`,
    },
  };
}
