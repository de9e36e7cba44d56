import { AsyncLocalStorage } from 'node:async_hooks';

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
