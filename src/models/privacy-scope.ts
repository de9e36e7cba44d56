import { detectPii } from './pii.js';
import { currentPrivacy } from './privacy-label.js';
import type { PrivacyRefusal } from './privacy-errors.js';

// The label and the refusal errors live apart from the detector, so code that only carries a label
// or reads a refusal does not load the PII detector.
export { withPrivacy, currentPrivacy, type Privacy } from './privacy-label.js';
export { privacyError, refusalOf, type PrivacyRefusal } from './privacy-errors.js';

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
