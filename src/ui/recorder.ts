import type { EngineEvent } from '../engine/events.js';
import { answerProblem, answerWithYes, type IoHost, type Message, type Progress, type Question } from './host.js';

/**
 * The host for tests (CDK's TestIoHost): answers questions by id from what the test queued,
 * and keeps every message, question and engine event in the order they came.
 */
export class RecorderHost implements IoHost {
  readonly messages: Message[] = [];
  readonly events: EngineEvent[] = [];
  /** The ids of the questions asked, in order. */
  readonly asked: string[] = [];

  /**
   * `otherwise: 'yes'` answers a question the test queued nothing for as --yes would (a host
   * injected into main() does not see the --yes flag): for tests that mean `--yes` and queue only
   * what they check. By default such a question throws, so a test sees every question asked.
   */
  constructor(
    private readonly answers: Record<string, boolean | string> = {},
    private readonly options: { otherwise?: 'throw' | 'yes' } = {},
  ) {}

  notify(message: Message): void {
    this.messages.push(message);
  }

  async ask<T extends boolean | string>(question: Question<T>): Promise<T> {
    this.asked.push(question.id);
    if (!(question.id in this.answers) && this.options.otherwise === 'yes') return answerWithYes(question);
    if (!(question.id in this.answers)) throw new Error(`the test gave no answer to question '${question.id}' (${question.message})`);
    const answer = this.answers[question.id] as T;
    const problem = answerProblem(question, answer);
    if (problem) throw new Error(`the answer to '${question.id}' is refused: ${problem}`);
    return answer;
  }

  settle(): void {}

  progress(): Progress {
    return { sink: (event) => void this.events.push(event), close: () => undefined };
  }

  /** The codes of the messages so far, in order. */
  codes(): string[] {
    return this.messages.map((m) => m.code);
  }
}
