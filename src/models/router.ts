import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { CadreError } from '../core/index.js';
import { formatModelRef, parseModelRef, type ModelRef } from './model-ref.js';

export type Capability = 'tools' | 'json' | 'vision';

/** What a caller needs from the next model call. */
export interface RouteRequest {
  taskKind?: string;
  /** `provider:model` the caller would like, if available. */
  preferred?: string;
  requiredCapabilities?: Capability[];
  privacy?: 'public' | 'sensitive';
  estimatedTokens?: number;
}

/** The model chosen for a call and why. */
export interface RouteDecision {
  model: BaseChatModel;
  ref: ModelRef;
  reason: string;
}

/** Picks the model for each call. */
export interface ModelRouter {
  select(request: RouteRequest): Promise<RouteDecision>;
  /** Models this router can choose from. */
  readonly candidates: readonly ModelRef[];
}

export interface RouteCandidate {
  ref: ModelRef;
  model: BaseChatModel;
}

/**
 * The first router: an explicit model wins, then the caller's preferred model when available,
 * then the first candidate in the configured order.
 */
export function createSimpleRouter(options: { candidates: RouteCandidate[]; explicit?: string }): ModelRouter {
  const { candidates } = options;
  const find = (text: string) => {
    const want = parseModelRef(text);
    return candidates.find((c) => c.ref.provider === want.provider && c.ref.model === want.model);
  };
  if (options.explicit && !find(options.explicit)) {
    const have = candidates.map((c) => formatModelRef(c.ref)).join(', ') || 'none';
    throw new CadreError('model_unavailable', `Model ${options.explicit} is not available (available: ${have})`, { kind: 'user' });
  }
  if (candidates.length === 0) throw new CadreError('model_unavailable', 'The router has no models to choose from');
  return {
    candidates: candidates.map((c) => c.ref),
    async select(request) {
      if (options.explicit) return { ...find(options.explicit)!, reason: `explicit model ${options.explicit}` };
      const preferred = request.preferred ? find(request.preferred) : undefined;
      if (preferred) return { ...preferred, reason: `preferred by the agent (${request.preferred})` };
      const first = candidates[0]!;
      const why = request.preferred ? `${request.preferred} not available; ` : '';
      return { ...first, reason: `${why}first reachable in model order (${formatModelRef(first.ref)})` };
    },
  };
}

/** A router that always answers with one model, for programs that bring their own. */
export function createFixedRouter(model: BaseChatModel, ref: Partial<ModelRef> = {}): ModelRouter {
  const full: ModelRef = {
    provider: ref.provider ?? 'local',
    model: ref.model ?? ((model as { model?: string; modelName?: string }).model ?? (model as { modelName?: string }).modelName ?? model._llmType()),
    location: ref.location ?? (ref.provider === 'openai' || ref.provider === 'anthropic' ? 'cloud' : 'local'),
  };
  return {
    candidates: [full],
    select: async () => ({ model, ref: full, reason: 'the model given to this run' }),
  };
}
