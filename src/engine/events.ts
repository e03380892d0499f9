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

export type EngineEvent =
  | { type: 'run-started'; operation: Operation; deployment: string; steps: Array<{ id: string; title: string }> }
  | { type: 'step-started'; operation: Operation; step: string; title: string }
  | { type: 'step-progress'; step: string; message: string }
  | {
      type: 'step-finished';
      operation: Operation;
      step: string;
      title: string;
      outcome: StepOutcome;
      elapsedMs: number;
      error?: string;
      hint?: string;
    }
  | { type: 'resource'; step: string; action: 'recorded' | 'forgotten'; resource: { type: string; id: string; name?: string } }
  | { type: 'run-finished'; operation: Operation; ok: boolean; elapsedMs: number; stoppedBy?: 'failure' | 'interrupt' };

export type EventSink = (event: EngineEvent) => void;
