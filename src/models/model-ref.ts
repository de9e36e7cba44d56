import { CadreError, providerKinds, type ProviderKind } from '../core/index.js';

/** Which model, from which provider, running where. */
export interface ModelRef {
  provider: ProviderKind;
  model: string;
  location: 'local' | 'cloud';
}

/** Local providers run on the user's own hardware; their calls cost nothing. */
export const locationOf = (provider: ProviderKind): 'local' | 'cloud' =>
  provider === 'ollama' || provider === 'local' ? 'local' : 'cloud';

/** Parses `provider:model` (e.g. `ollama:llama3.1`); throws `config_invalid` otherwise. */
export function parseModelRef(text: string): ModelRef {
  const at = text.indexOf(':');
  const provider = text.slice(0, at) as ProviderKind;
  const model = text.slice(at + 1);
  if (at <= 0 || !model || !providerKinds.includes(provider)) {
    throw new CadreError(
      'config_invalid',
      `Model "${text}" must be provider:model with provider one of ${providerKinds.join(', ')}`,
    );
  }
  return { provider, model, location: locationOf(provider) };
}

/** `provider:model`, the form `parseModelRef` reads. */
export const formatModelRef = (ref: Pick<ModelRef, 'provider' | 'model'>) => `${ref.provider}:${ref.model}`;
