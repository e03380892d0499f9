/**
 * The one way a known failure leaves the program: an ExitError carries its exit code and a
 * one-line message (plus an optional hint saying how to fix it). It is caught once, in cli.ts.
 */
export const EXIT = {
  ok: 0,
  stepFailed: 1,
  badInput: 2,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class ExitError extends Error {
  constructor(
    readonly code: ExitCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ExitError';
  }
}

/** Bad input or a refusal: nothing was created and the state file was not touched. */
export function badInput(message: string, hint?: string): ExitError {
  return new ExitError(EXIT.badInput, message, hint);
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
