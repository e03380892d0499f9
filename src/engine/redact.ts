/**
 * The one place secrets are kept out of what the program says. A step that generates a secret
 * declares it; every event, log line, error and state write passes through `apply` afterwards.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(value: string): void {
    // Very short values would blank out ordinary words; generated secrets are long.
    if (value.length >= 8) this.secrets.add(value);
  }

  apply(text: string): string {
    let result = text;
    for (const secret of this.secrets) result = result.split(secret).join('[redacted]');
    return result;
  }

  /** A deep copy of `value` with every string redacted. */
  deep<T>(value: T): T {
    if (this.secrets.size === 0) return value;
    return JSON.parse(this.apply(JSON.stringify(value))) as T;
  }
}
