/** Who can fix an error: the caller (`user`) or nobody short of operations (`system`). */
export type ErrorKind = 'user' | 'system';

const marker = Symbol.for('cadre.error');

/** Stable error codes. Callers branch on these, never on messages. */
export type ErrorCode =
  | 'config_invalid'
  | 'input_invalid'
  | 'budget_exceeded'
  | 'cancelled'
  | 'timeout'
  | 'tool_not_found'
  | 'tool_failed'
  | 'tool_args_invalid'
  | 'tool_outcome_unknown'
  /** A journaled call that stopped for its MCP server's question to the user; it runs again once answered. */
  | 'elicitation_pending'
  | 'journal_mismatch'
  | 'tool_denied'
  | 'approval_denied'
  | 'tool_quarantined'
  | 'path_outside_root'
  | 'path_invalid'
  | 'host_not_allowed'
  | 'model_unavailable'
  | 'model_failed'
  | 'provider_error'
  | 'rate_limited'
  | 'plan_invalid'
  | 'run_failed'
  | 'run_not_found'
  | 'task_failed'
  | 'output_invalid'
  | 'store_failed'
  | 'delegation_failed'
  | 'privacy_blocked'
  | 'app_not_found'
  | 'app_invalid'
  | 'team_not_found'
  | 'run_conflict'
  | 'auth_failed'
  | 'request_forbidden'
  | 'body_too_large'
  | 'not_found'
  | 'unavailable'
  | 'lease_lost'
  | 'job_not_found'
  | 'sandbox_unavailable'
  | 'mcp_auth_required'
  | 'internal';

/** The optional parts of a {@link CadreError}. */
export interface CadreErrorOptions {
  /** Default: `user` for codes a caller causes (bad input, budget, cancellation...), else `system`. */
  kind?: ErrorKind;
  cause?: unknown;
  /** Facts about the failure as JSON, kept with the error in events and logs. */
  details?: Record<string, unknown>;
}

const userCodes: ReadonlySet<ErrorCode> = new Set([
  'config_invalid',
  'input_invalid',
  'budget_exceeded',
  'cancelled',
  'tool_not_found',
  'tool_args_invalid',
  'path_outside_root',
  'path_invalid',
  'host_not_allowed',
  'plan_invalid',
  'run_not_found',
  'privacy_blocked',
  'app_not_found',
  'app_invalid',
  'team_not_found',
  'run_conflict',
  'auth_failed',
  'request_forbidden',
  'body_too_large',
  'not_found',
  'job_not_found',
  'mcp_auth_required',
]);

/**
 * The one error type cadre throws. Recognised across package copies by a registered symbol,
 * so use `CadreError.isInstance(e)` rather than `instanceof`.
 */
export class CadreError extends Error {
  readonly [marker] = true;
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: CadreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CadreError';
    this.code = code;
    this.kind = options.kind ?? (userCodes.has(code) ? 'user' : 'system');
    this.details = options.details ?? {};
  }

  /** True for any CadreError, including one thrown by another copy of the package. */
  static isInstance(error: unknown): error is CadreError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }

  /** Wraps anything thrown into a CadreError, keeping one that already is. */
  static from(error: unknown, code: ErrorCode = 'internal'): CadreError {
    if (CadreError.isInstance(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new CadreError(code, message, { cause: error });
  }

  /** Plain JSON form for events and logs. */
  toJSON(): { code: ErrorCode; kind: ErrorKind; message: string; details: Record<string, unknown> } {
    return { code: this.code, kind: this.kind, message: this.message, details: this.details };
  }
}
