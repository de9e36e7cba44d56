import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { CadreError } from '../core/index.js';
import { formatModelRef, parseModelRef, type ModelRef } from './model-ref.js';

/** What a request may need from a model beyond plain chat. */
export type Capability = 'tools' | 'json' | 'vision';

/** A check a cascade applies to a cheap model's answer before accepting it. */
export type AnswerCheck = (
  answer: string,
) => { ok: boolean; reason?: string } | Promise<{ ok: boolean; reason?: string }>;

/** How a routed call changed course: fell back after a failure, escalated a cascade, or went local for privacy. */
export interface Reroute {
  kind: 'fallback' | 'escalate' | 'privacy';
  from: ModelRef;
  to: ModelRef;
  reason: string;
}

/** What a caller needs from the next model call. */
export interface RouteRequest {
  /** plan, reason, code, extract, summarise, classify, chat, reflect, agent — or your own. */
  taskKind?: string;
  /** `provider:model` (or pool id) the caller would like, if allowed and available. */
  preferred?: string;
  requiredCapabilities?: Capability[];
  /** `sensitive` keeps the call on local models; raised automatically when `text` holds personal data. */
  privacy?: 'public' | 'sensitive';
  /** Prompt text to scan for personal data and to estimate size from; never stored or logged. */
  text?: string;
  /** Input tokens, when the caller knows them better than `text` does. */
  estimatedTokens?: number;
  /** What is left of the run's cost budget, for downgrades and pre-call checks. */
  budget?: { remainingUsd?: number; limitUsd?: number };
  /** Prefer models whose typical latency is below this. */
  latencyTargetMs?: number;
  /** For cascades with `check: 'schema'` or `'evaluator'`. */
  checkAnswer?: AnswerCheck;
  /** Told when a call falls back, escalates or moves local; e.g. to emit `model.routed`. */
  onReroute?: (reroute: Reroute) => void;
}

/** The model chosen for a call and why. */
export interface RouteDecision {
  /** Calls go here; with the policy router it falls back along `fallbacks` by itself. */
  model: BaseChatModel;
  ref: ModelRef;
  reason: string;
  /** Models tried next when `ref` fails, in order. */
  fallbacks?: ModelRef[];
  /** The privacy the request was routed under (after PII detection). */
  privacy?: 'public' | 'sensitive';
  /** False when tools are needed but the chosen models lack native tool calling: use the JSON-in-text protocol. */
  nativeTools?: boolean;
  /** Tokens the smallest context window among `ref` and its fallbacks holds, when known. */
  contextWindow?: number;
  /** Highest cost and tokens the next call could take (input estimate plus output cap), for budget checks. */
  estimate?: (messages: readonly { content: unknown }[]) => { costUsd: number; tokens: number };
}

/** Picks the model for each call. */
export interface ModelRouter {
  /** The model for this request, and why it was chosen. */
  select(request: RouteRequest): Promise<RouteDecision>;
  /** Models this router can choose from. */
  readonly candidates: readonly ModelRef[];
}

/** A model the simple router may pick, with its reference. */
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
    throw new CadreError('model_unavailable', `Model ${options.explicit} is not available (available: ${have})`, {
      kind: 'user',
    });
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

/**
 * A router that always answers with one model, for programs that bring their own. Where the model
 * runs is taken from `ref.location`, else from its class: OpenAI-style models count as cloud unless
 * their base URL is on this machine or a private network, Anthropic models as cloud, others as local.
 * A `sensitive` request is refused (`model_unavailable`) rather than sent to a cloud model.
 */
export function createFixedRouter(model: BaseChatModel, ref: Partial<ModelRef> = {}): ModelRouter {
  const full: ModelRef = {
    provider: ref.provider ?? 'local',
    model:
      ref.model ??
      (model as { model?: string; modelName?: string }).model ??
      (model as { modelName?: string }).modelName ??
      model._llmType(),
    location:
      ref.location ?? (ref.provider === 'openai' || ref.provider === 'anthropic' ? 'cloud' : locationOfModel(model)),
  };
  return {
    candidates: [full],
    select: async (request) => {
      if (request.privacy === 'sensitive' && full.location === 'cloud') {
        throw new CadreError(
          'model_unavailable',
          `This call is sensitive and the model given to the run (${full.model}) runs in the cloud; pass a local model, or say where it runs with createFixedRouter(model, { location: 'local' })`,
          { kind: 'user' },
        );
      }
      return { model, ref: full, reason: 'the model given to this run' };
    },
  };
}

const privateHost = /^(?:localhost|127\.|10\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.|\[?::1\]?$|[^.]+$)/;

/** Where a bare LangChain model runs, judged by its class and base URL. */
function locationOfModel(model: BaseChatModel): 'local' | 'cloud' {
  const type = model._llmType();
  if (type === 'anthropic') return 'cloud';
  if (type !== 'openai') return 'local';
  const base = (model as { clientConfig?: { baseURL?: string } }).clientConfig?.baseURL;
  if (!base) return 'cloud';
  try {
    return privateHost.test(new URL(base).hostname) ? 'local' : 'cloud';
  } catch {
    return 'cloud';
  }
}
