import { CadreError, ConfigSchema, rejectUnknownKeys } from '../core/index.js';
import type { RunOptions } from './run-types.js';

// Every key of RunOptions, checked both ways by the type below: an option added there must be added here.
/** @internal The keys of RunOptions (the app registry derives its team settings' keys from them). */
export const runKeys = [
  'goal',
  'agent',
  'roles',
  'planner',
  'replanner',
  'model',
  'router',
  'privacy',
  'config',
  'journal',
  'runId',
  'signal',
  'logger',
  'approvePlan',
  'episodes',
  'memory',
  'approveTool',
  'elicit',
  'tools',
  'metadata',
  'app',
  'owner',
  'job',
] as const satisfies ReadonlyArray<keyof RunOptions>;
const everyKeyListed: [Exclude<keyof RunOptions, (typeof runKeys)[number]>] extends [never] ? true : never = true;
void everyKeyListed;
const resumeKeys = [
  ...runKeys.filter((k) => !['goal', 'runId', 'owner', 'job'].includes(k)),
  'decision',
  'retryFailed',
];
const configKeys = Object.keys(ConfigSchema.shape);

/**
 * Options passed in code get the checks a config file gets: an unknown or misspelt key, or a value
 * of the wrong kind, throws `input_invalid` naming it, instead of being ignored.
 */
export function checkRunOptions(options: unknown, call: 'run' | 'resume'): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new CadreError('input_invalid', `${call}() takes an options object`);
  const inConfig = (key: string) =>
    configKeys.includes(key) ? `: it is a config field; pass it as \`config: { ${key} }\`` : undefined;
  rejectUnknownKeys(options, call === 'run' ? runKeys : resumeKeys, `${call}() option`, 'input_invalid', inConfig);
  const o = options as Record<string, unknown>;
  const wrong = (key: string, expected: string) =>
    new CadreError('input_invalid', `${call}() option "${key}" must be ${expected}`, { details: { key } });
  if (o.privacy !== undefined && o.privacy !== 'public' && o.privacy !== 'sensitive')
    throw wrong('privacy', "'public' or 'sensitive'");
  if (o.runId !== undefined && (typeof o.runId !== 'string' || !/^[\w.:-]{1,128}$/.test(o.runId)))
    throw wrong('runId', '1-128 letters, digits or _ . : -');
  if (o.approveTool !== undefined && o.approveTool !== 'interrupt' && typeof o.approveTool !== 'function')
    throw wrong('approveTool', "a function or 'interrupt'");
  if (o.elicit !== undefined && typeof o.elicit !== 'function') throw wrong('elicit', 'a function');
  if (o.approvePlan !== undefined && typeof o.approvePlan !== 'boolean' && typeof o.approvePlan !== 'function')
    throw wrong('approvePlan', 'true, false or a function');
  for (const key of ['roles', 'tools'] as const)
    if (o[key] !== undefined && !Array.isArray(o[key])) throw wrong(key, 'an array');
  for (const key of ['metadata', 'config', 'app', 'owner'] as const)
    if (o[key] !== undefined && (typeof o[key] !== 'object' || o[key] === null || Array.isArray(o[key])))
      throw wrong(key, 'an object');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw wrong('signal', 'an AbortSignal');
  if (o.job !== undefined && typeof o.job !== 'string') throw wrong('job', 'a job id');
}
