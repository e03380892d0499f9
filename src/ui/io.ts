import { styleText } from 'node:util';

/**
 * The program's window on the terminal: commands and renderers write only through this, so a
 * test can hand in streams that behave like a TTY (or not) and read back what an operator saw.
 */
export interface Io {
  /** Where answers are typed; absent, nothing can be asked. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Whether questions can be asked (a terminal on stdin). */
  interactive: boolean;
  color: boolean;
}

export function processIo(color: boolean): Io {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    color: color && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  };
}

type Style = Parameters<typeof styleText>[0];

export function paint(io: Pick<Io, 'color'>, style: Style, text: string): string {
  return io.color ? styleText(style, text) : text;
}

export function line(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text}\n`);
}
