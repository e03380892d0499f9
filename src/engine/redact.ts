/**
 * The one place secrets are kept out of what the program says. A step that generates a secret
 * declares it; every event, log line, error and state write passes through it afterwards.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(value: string): void {
    // Very short values would blank out ordinary words; generated secrets are long.
    if (value.length < 8) return;
    this.secrets.add(value);
    // A message may quote the secret as JSON text (an SDK error echoing its request): blank that
    // spelling too, whose newlines, quotes and backslashes are escaped.
    const quoted = JSON.stringify(value).slice(1, -1);
    if (quoted !== value) this.secrets.add(quoted);
  }

  apply(text: string): string {
    let result = text;
    // Longest first, so a secret that contains another is blanked whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) result = result.split(secret).join('[redacted]');
    return result;
  }

  /**
   * A deep copy of `value` with every string in it redacted. It walks the values rather than
   * redacting serialized text, where a multi-line key no longer reads as itself.
   */
  deep<T>(value: T): T {
    if (this.secrets.size === 0) return value;
    return this.walk(value) as T;
  }

  private walk(value: unknown): unknown {
    if (typeof value === 'string') return this.apply(value);
    if (Array.isArray(value)) return value.map((item) => this.walk(item));
    if (value instanceof Error) {
      const copy = new Error(this.apply(value.message));
      copy.name = value.name;
      if (value.stack) copy.stack = this.apply(value.stack);
      return copy;
    }
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.walk(item)]));
    }
    return value;
  }
}
