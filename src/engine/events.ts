import type { Wait } from '../aws/poll.js';

export type { Wait } from '../aws/poll.js';

/**
 * Everything the engine has to say goes out as one of these events, through one sink. The
 * terminal list, the plain-line log, the NDJSON stream and the tests' recorder all consume the
 * same stream; nothing in the engine or the steps writes to the terminal.
 */

export type Operation = 'install' | 'teardown';

export type StepOutcome =
  | 'done' // created (or adopted) now
  | 'verified' // complete from an earlier run, checked and skipped
  | 'destroyed'
  | 'retained' // torn down except what is kept on purpose (buckets holding data)
  | 'failed'
  | 'stopped'; // interrupted at a safe point; resume continues it

/** A step as a run announces it: enough of the graph to estimate what is left and to draw the timeline. */
export interface RunStep {
  id: string;
  title: string;
  needs: string[];
  /** Typical minutes AWS takes to create what the step makes (the timing table's). */
  minutes: number;
  /** Complete in the state file as the install began: it is expected to be verified, not redone. */
  complete?: true;
}

export type EngineEvent =
  | {
      type: 'run-started';
      operation: Operation;
      deployment: string;
      steps: RunStep[];
      /** The times are the sandbox's: AWS's durations on a compressed clock. */
      simulated: boolean;
    }
  /**
   * `atMs`: the offset from the run's start on the step's own timeline (AWS's simulated time in
   * the sandbox, the wall clock on AWS), the only clock a renderer or the report may use.
   */
  | { type: 'step-started'; operation: Operation; step: string; title: string; atMs: number }
  | { type: 'step-progress'; step: string; message: string; atMs: number; wait?: Wait }
  | {
      type: 'step-finished';
      operation: Operation;
      step: string;
      title: string;
      outcome: StepOutcome;
      elapsedMs: number;
      atMs: number;
      error?: string;
      hint?: string;
    }
  | { type: 'resource'; step: string; action: 'recorded' | 'forgotten'; resource: { type: string; id: string; name?: string } }
  | { type: 'run-finished'; operation: Operation; ok: boolean; elapsedMs: number; stoppedBy?: 'failure' | 'interrupt' };

export type EventSink = (event: EngineEvent) => void;
