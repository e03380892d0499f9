import { badInput } from '../errors.js';
import type { EventSink } from '../engine/events.js';

/**
 * The one seam between the program and the operator (AWS CDK's IoHost, Vercel's Client): commands
 * say things as messages and ask things as questions; a host decides what that looks like (a
 * terminal, plain lines, NDJSON, a test's recorder). Nothing else writes to a stream.
 */
export type Level = 'error' | 'warn' | 'info' | 'result' | 'debug';

export interface Message {
  level: Level;
  /** Stable, for scripts and tests: `plan`, `warn.ssh-open`, `install.done`, `step.failed`... */
  code: string;
  /** What a person reads (may span lines). */
  text: string;
  /** The same thing for a machine; a `result` message's data is the command's answer in --json. */
  data?: unknown;
}

export interface Question<T extends boolean | string = boolean | string> {
  /** Stable: a recorder answers by it, a refusal names it. */
  id: string;
  message: string;
  /** What the terminal offers; also what --yes takes unless `withYes` says otherwise. */
  default: T;
  /** The answer `--yes` gives (a confirmation defaults to no, but --yes means yes). */
  withYes?: T;
  /** A reason the answer is unacceptable, or undefined when it is fine. */
  validate?: (answer: T) => string | undefined;
  /** One line of why the guide asks this (the wizard shows it under the question). */
  why?: string;
  /** The answer is one of these values (a list to pick from); the default must be one of them. */
  choices?: ReadonlyArray<Choice>;
}

export interface Choice {
  value: string;
  /** What the list shows (the value when absent). */
  name?: string;
  /** A line shown when the choice is highlighted. */
  description?: string;
}

/** Why an answer is refused: not one of the choices, or the question's own validator. */
export function answerProblem<T extends boolean | string>(question: Question<T>, answer: T): string | undefined {
  if (question.choices && !question.choices.some((c) => c.value === answer)) {
    return `'${String(answer)}' is not one of ${question.choices.map((c) => c.value).join(', ')}`;
  }
  return question.validate?.(answer);
}

/** What a run's engine events are fed to while it runs. */
export interface Progress {
  sink: EventSink;
  close(): void;
}

export interface IoHost {
  notify(message: Message): void;
  ask<T extends boolean | string>(question: Question<T>): Promise<T>;
  /**
   * Called before anything changes. A host that could not ask has answered with defaults so far,
   * only to learn every question a command has; here it refuses, naming all of them at once.
   */
  settle(): void;
  /** The live list, plain lines, NDJSON or a record, fed the engine's events. */
  progress(run: { simulated: boolean }): Progress;
}

/** The answer `--yes` gives, checked like a typed one. */
export function answerWithYes<T extends boolean | string>(question: Question<T>): T {
  const answer = question.withYes ?? question.default;
  const problem = answerProblem(question, answer);
  if (problem) throw badInput(`--yes cannot answer '${question.id}' (${question.message}): ${problem}`, 'give the answer as an option');
  return answer;
}

/**
 * Nobody can answer: remember each question and answer it provisionally with its default, so the
 * command reaches `settle()`, which refuses listing every question (not just the first).
 */
export class Unanswered {
  private readonly questions: Array<Pick<Question, 'id' | 'message'>> = [];

  take<T extends boolean | string>(question: Question<T>): T {
    this.questions.push({ id: question.id, message: question.message });
    return question.default;
  }

  settle(): void {
    if (this.questions.length === 0) return;
    const listed = this.questions.map((q) => `${q.id} ("${q.message}")`).join(', ');
    throw badInput(
      `refusing to change AWS without confirmation: no terminal to ask ${listed}`,
      'run it in a terminal to answer, or pass --yes to take the defaults',
    );
  }
}
