import { CadreError } from '../core/index.js';
import type { PiiKind } from './pii.js';

/** Why text was kept from a cloud model: the call is labelled sensitive, or the text holds personal data (kinds only). */
export interface PrivacyRefusal {
  reason: 'sensitive' | 'personal_data';
  found?: PiiKind[];
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
