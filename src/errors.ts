/**
 * Errors a user can act on. The CLI prints `message` (and each line of `details`)
 * without a stack trace and exits with `exitCode`. Anything else that escapes a
 * command is a bug in nixlab and is reported as such.
 */
export class UserError extends Error {
  readonly exitCode: number;
  readonly details: readonly string[];

  constructor(message: string, options: { exitCode?: number; details?: readonly string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UserError";
    this.exitCode = options.exitCode ?? 1;
    this.details = options.details ?? [];
  }
}

/** Exit codes shared by every command (documented in the README). */
export const ExitCode = {
  ok: 0,
  failure: 1,
  invalidInput: 2,
  busy: 3,
  notReady: 4,
} as const;
