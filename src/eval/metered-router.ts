import type { Budget } from '../core/index.js';
import type { ModelRouter } from '../models/router.js';
import type { AnswerCache } from './answer-cache.js';
import { CachedChatModel } from './cached-chat-model.js';
import type { ModelMeter } from './model-meter.js';

/** A router whose models answer from `cache` when they can, count into `meter` and spend from `budget`. */
export function meteredRouter(
  router: ModelRouter,
  options: { meter: ModelMeter; cache?: AnswerCache | undefined; budget?: Budget | undefined },
): ModelRouter {
  return {
    candidates: router.candidates,
    select: async (request) => {
      const decision = await router.select(request);
      return {
        ...decision,
        model: new CachedChatModel({
          inner: decision.model,
          ref: decision.ref,
          meter: options.meter,
          cache: options.cache,
          budget: options.budget,
          estimate: decision.estimate,
        }),
      };
    },
  };
}
