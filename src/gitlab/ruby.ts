/** A Ruby single-quoted string literal: only `\` and `'` need escaping there. */
export function rubyString(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** A shell single-quoted word. */
export function shellString(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
