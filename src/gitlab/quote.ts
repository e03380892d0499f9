/** A Ruby single-quoted string literal: only `\` and `'` need escaping there. */
export function rubyString(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/**
 * A shell single-quoted word, always quoted: the contract's lines (`fetch_secret '<name>' '<file>'`,
 * `wait_for_port '<ip>' 8075`) are read back by the sandbox in exactly that form. Where bare is
 * fine and reads better, commands/options.ts' shellWord serves.
 */
export function shellString(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
