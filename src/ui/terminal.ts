import { answerWithYes, Unanswered, type IoHost, type Message, type Progress, type Question } from './host.js';
import { line, paint, type Io } from './io.js';
import { createRenderer, type PausableRenderer } from './progress.js';

/** How a human-facing host gets its answers. */
export type Answering =
  | 'prompt' // a terminal on stdin: ask with @inquirer/prompts
  | 'yes' // --yes: every question takes its --yes answer
  | 'refuse'; // nobody to ask: collect the questions, then refuse naming all of them

export interface TerminalHostOptions {
  answering: Answering;
  verbose: boolean;
  /** Ctrl-C closes an open question. */
  signal?: AbortSignal;
}

/**
 * Output for people: results and information on stdout, warnings and errors on stderr (coloured
 * when the terminal takes colour), the live list when stdout is a terminal, plain lines when it
 * is a pipe. Questions are asked on the injected stdin, with the live list paused meanwhile.
 */
export class TerminalHost implements IoHost {
  private readonly unanswered = new Unanswered();
  private live: PausableRenderer | undefined;

  constructor(
    private readonly io: Io,
    private readonly options: TerminalHostOptions,
  ) {}

  notify({ level, text }: Message): void {
    switch (level) {
      case 'error':
        return this.write('stderr', paint(this.io, 'red', text));
      case 'warn':
        return this.write('stderr', paint(this.io, 'yellow', text));
      case 'debug':
        if (this.options.verbose) this.write('stdout', paint(this.io, 'gray', text));
        return;
      default:
        return this.write('stdout', text);
    }
  }

  async ask<T extends boolean | string>(question: Question<T>): Promise<T> {
    if (this.options.answering === 'yes') return answerWithYes(question);
    if (this.options.answering === 'refuse' || !this.io.stdin) return this.unanswered.take(question);
    const prompts = await import('@inquirer/prompts');
    const context = { input: this.io.stdin, output: this.io.stdout, signal: this.options.signal };
    this.live?.pause();
    try {
      if (question.why) line(this.io.stdout, paint(this.io, 'gray', `  ${question.why}`));
      if (typeof question.default === 'boolean') {
        return (await prompts.confirm({ message: question.message, default: question.default }, context)) as T;
      }
      if (question.choices) {
        const choices = question.choices.map((c) => ({ value: c.value, name: c.name ?? c.value, ...(c.description ? { description: c.description } : {}) }));
        return (await prompts.select({ message: question.message, choices, default: question.default as string }, context)) as T;
      }
      const validate = question.validate as ((answer: string) => string | undefined) | undefined;
      return (await prompts.input(
        {
          message: question.message,
          default: question.default as string,
          validate: (answer) => validate?.(answer) ?? true,
        },
        context,
      )) as T;
    } finally {
      this.live?.resume();
    }
  }

  settle(): void {
    this.unanswered.settle();
  }

  progress({ simulated }: { simulated: boolean }): Progress {
    const options = { simulated, verbose: this.options.verbose };
    if (!this.io.stdout.isTTY) return createRenderer('plain', this.io, options);
    const live = createRenderer('tty', this.io, options);
    this.live = live;
    return {
      sink: live.sink,
      close: () => {
        live.close();
        this.live = undefined;
      },
    };
  }

  private write(stream: 'stdout' | 'stderr', text: string): void {
    // A message during the live list would be overdrawn by its next frame: step it aside.
    this.live?.pause();
    line(this.io[stream], text);
    this.live?.resume();
  }
}
