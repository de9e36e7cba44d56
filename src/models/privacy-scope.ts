import { AsyncLocalStorage } from 'node:async_hooks';
import { CadreError } from '../core/index.js';
import { detectPii, type PiiKind } from './pii.js';

/** A privacy label, as on a run or a route request. */
export type Privacy = 'public' | 'sensitive';

// Embedders and summarisers sit deep inside memory's stores, out of reach of a run's context
// object; the run's label travels with its async work instead, as LangChain's callbacks do.
const label = new AsyncLocalStorage<Privacy>();

/**
 * Runs `work` under a privacy label that memory's embedders and summarisers obey. An inner call
 * cannot lower `sensitive`; `undefined` keeps the label around it.
 */
export function withPrivacy<T>(privacy: Privacy | undefined, work: () => T): T {
  const outer = label.getStore();
  const next = outer === 'sensitive' ? outer : (privacy ?? outer);
  return next ? label.run(next, work) : work();
}

/** The label of the innermost `withPrivacy`, if any. */
export const currentPrivacy = (): Privacy | undefined => label.getStore();

/** Why text was kept from a cloud model: the call is labelled sensitive, or the text holds personal data (kinds only). */
export interface PrivacyRefusal {
  reason: 'sensitive' | 'personal_data';
  found?: PiiKind[];
}

/**
 * The rule chat routing applies, for any other model that reads text: a local model may read
 * anything; a cloud one (or one that does not say where it runs) nothing from a call labelled
 * sensitive, nor any text in which the PII detector finds personal data or a secret.
 */
export function privacyRefusal(
  location: 'local' | 'cloud' | undefined,
  texts: readonly string[],
  privacy = currentPrivacy(),
): PrivacyRefusal | undefined {
  if (location === 'local') return undefined;
  if (privacy === 'sensitive') return { reason: 'sensitive' };
  const found = [...new Set(texts.flatMap((text) => detectPii(text).map((f) => f.kind)))];
  return found.length ? { reason: 'personal_data', found } : undefined;
}

/** The `privacy_blocked` error a model call throws instead of sending text it may not read. */
export function privacyError(model: string, refusal: PrivacyRefusal): CadreError {
  const why =
    refusal.reason === 'sensitive' ? 'the call is labelled sensitive' : `the text holds ${refusal.found!.join(', ')}`;
  return new CadreError('privacy_blocked', `Text was kept from ${model}, a cloud model: ${why}`, {
    details: { model, ...refusal },
  });
}

/** The refusal a `privacy_blocked` error carries, or undefined for any other error. */
export function refusalOf(error: unknown): (PrivacyRefusal & { model: string }) | undefined {
  if (!CadreError.isInstance(error) || error.code !== 'privacy_blocked') return undefined;
  const { model, reason, found } = error.details as {
    model: string;
    reason: PrivacyRefusal['reason'];
    found?: PiiKind[];
  };
  return { model, reason, ...(found ? { found } : {}) };
}
