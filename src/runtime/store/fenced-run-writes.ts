import { CadreError } from '../../core/index.js';

/** The refusal of a write fenced with `epoch` when the run's fence holds `held` (undefined: none taken). */
export function leaseLost(runId: string, epoch: number, held: number | undefined): CadreError {
  return new CadreError(
    'lease_lost',
    `Run ${runId} is now held by a newer lease (epoch ${held ?? 'none'}, this writer's ${epoch}); the write is refused`,
    { details: { runId, epoch, current: held ?? null } },
  );
}

/** Refuses, with `input_invalid`, a write fenced for `runId` that names another run. */
export function checkOwnRun(runId: string, named: readonly string[]): void {
  const other = named.find((id) => id !== runId);
  if (other !== undefined)
    throw new CadreError('input_invalid', `A write fenced for run ${runId} names run ${other}`, {
      details: { runId, other },
    });
}
