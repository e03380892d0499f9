/** A value an operator can fix; `hint` says how when the generic "fix the value" would not. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}
