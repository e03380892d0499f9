import { answerWithYes, Unanswered, type IoHost, type Message, type Progress, type Question } from './host.js';
import { line, type Io } from './io.js';
import { createRenderer } from './progress.js';

/**
 * `--json`: one JSON object per line on stdout. Engine events keep their shape; a message becomes
 * `{"type":"message","level","code","text","data"}`, except a `result` carrying data, which is
 * written as that document alone (`status --json | jq .steps`). Errors also go to stderr as text,
 * for the person reading a CI log; debug messages only with --verbose. Questions are never asked on a stream scripts parse: --yes
 * answers them, otherwise the run is refused naming them.
 */
export class NdjsonHost implements IoHost {
  private readonly unanswered = new Unanswered();

  constructor(
    private readonly io: Io,
    private readonly options: { yes: boolean; verbose?: boolean },
  ) {}

  notify(message: Message): void {
    const { level, code, text, data } = message;
    if (level === 'debug' && !this.options.verbose) return;
    if (level === 'result' && data !== undefined) return line(this.io.stdout, JSON.stringify(data));
    line(this.io.stdout, JSON.stringify({ type: 'message', level, code, text, ...(data === undefined ? {} : { data }) }));
    if (level === 'error') line(this.io.stderr, text);
  }

  async ask<T extends boolean | string>(question: Question<T>): Promise<T> {
    return this.options.yes ? answerWithYes(question) : this.unanswered.take(question);
  }

  settle(): void {
    this.unanswered.settle();
  }

  progress({ simulated }: { simulated: boolean }): Progress {
    return createRenderer('json', this.io, { simulated, verbose: true });
  }
}
