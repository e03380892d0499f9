import type { EngineEvent, Operation, RunStep, StepOutcome, Wait } from './events.js';

const MINUTE_MS = 60_000;

/** One step of a run as its events tell it; every time is an offset from the run's start on the step's timeline. */
export interface StepTimes {
  startMs?: number;
  endMs?: number;
  /** The latest time the step spoke at (its start, a progress line, its end). */
  nowMs?: number;
  outcome?: StepOutcome;
  /** As the engine measured it (its end minus its start). */
  elapsedMs?: number;
  error?: string;
  /** The latest progress line, and the wait it was about, if any. */
  message?: string;
  wait?: Wait;
  /** Each thing it waited for (by `waitLabel`), with the last word on it. */
  waits: Map<string, Wait>;
}

/** "RDS instance gitlab-db-ha available": what a wait was for, without what AWS said along the way. */
export function waitLabel(wait: Pick<Wait, 'what' | 'until'>): string {
  return wait.until ? `${wait.what} ${wait.until}` : wait.what;
}

/**
 * A run folded from its events: the one reading of them that both the live list (what is left)
 * and the install report (what happened, the critical path) use. Times come from the events
 * only, never from a clock here: in the sandbox each step has its own timeline, which only the
 * engine knows.
 */
export class RunTimeline {
  operation: Operation = 'install';
  deployment = '';
  simulated = false;
  steps: RunStep[] = [];
  readonly times = new Map<string, StepTimes>();
  /** The latest time any event was at. */
  frontierMs = 0;
  finished?: { ok: boolean; elapsedMs: number; stoppedBy?: 'failure' | 'interrupt' };

  static of(events: Iterable<EngineEvent>): RunTimeline {
    const timeline = new RunTimeline();
    for (const event of events) timeline.apply(event);
    return timeline;
  }

  apply(event: EngineEvent): void {
    switch (event.type) {
      case 'run-started':
        Object.assign(this, { operation: event.operation, deployment: event.deployment, simulated: event.simulated, steps: event.steps });
        for (const step of event.steps) this.times.set(step.id, { waits: new Map() });
        return;
      case 'step-started':
        Object.assign(this.timesOf(event.step), { startMs: event.atMs, nowMs: event.atMs });
        return this.reach(event.atMs);
      case 'step-progress': {
        const times = this.timesOf(event.step);
        times.nowMs = Math.max(times.nowMs ?? 0, event.atMs);
        times.message = event.message;
        times.wait = event.wait;
        if (event.wait) times.waits.set(waitLabel(event.wait), event.wait);
        return this.reach(event.atMs);
      }
      case 'step-finished':
        Object.assign(this.timesOf(event.step), {
          endMs: event.atMs,
          nowMs: event.atMs,
          outcome: event.outcome,
          elapsedMs: event.elapsedMs,
          error: event.error,
          wait: undefined,
          message: undefined,
        });
        return this.reach(event.atMs);
      case 'run-finished':
        this.finished = { ok: event.ok, elapsedMs: event.elapsedMs, ...(event.stoppedBy ? { stoppedBy: event.stoppedBy } : {}) };
        return this.reach(event.elapsedMs);
      default:
        return;
    }
  }

  /** The steps that must end before `id` starts: its needs when installing, the steps needing it when tearing down. */
  before(id: string): string[] {
    if (this.operation === 'install') return this.steps.find((s) => s.id === id)?.needs ?? [];
    return this.steps.filter((s) => s.needs.includes(id)).map((s) => s.id);
  }

  /**
   * What is left, estimated: each step not finished takes its typical minutes (none when the state
   * already had it complete), a running one at least as long as it has run, and starts when the
   * steps before it end; the finish is the latest end. `wallMs` is the run's time now on the wall
   * clock (real AWS, where events come only as often as polls), so running steps age between events.
   */
  remainingMs(wallMs?: number): number {
    const ends = new Map<string, number>();
    const endOf = (id: string): number => {
      const known = ends.get(id);
      if (known !== undefined) return known;
      const step = this.steps.find((s) => s.id === id);
      const times = this.times.get(id);
      const typical = !step || step.complete ? 0 : step.minutes * MINUTE_MS;
      let end: number;
      if (times?.endMs !== undefined) end = times.endMs;
      else if (times?.startMs !== undefined) {
        const now = Math.max(times.nowMs ?? times.startMs, wallMs ?? 0);
        end = times.startMs + Math.max(typical, now - times.startMs);
      } else end = Math.max(0, ...this.before(id).map(endOf)) + typical;
      ends.set(id, end);
      return end;
    };
    const finish = Math.max(0, ...this.steps.map((s) => endOf(s.id)));
    return Math.max(0, finish - Math.max(this.frontierMs, wallMs ?? 0));
  }

  /**
   * The chain of steps whose ends decided the finish: from the step that ended last, back through
   * the step before it that ended last (the one it was waiting for), to a step that waited for none.
   */
  criticalPath(): string[] {
    const end = (id: string) => this.times.get(id)?.endMs ?? this.times.get(id)?.nowMs;
    const ran = this.steps.filter((s) => end(s.id) !== undefined);
    const latest = (ids: string[]) =>
      ids
        .filter((id) => end(id) !== undefined)
        .reduce<string | undefined>((best, id) => (best && end(best)! >= end(id)! ? best : id), undefined);
    const path: string[] = [];
    for (let at = latest(ran.map((s) => s.id)); at && !path.includes(at); at = latest(this.before(at))) path.unshift(at);
    return path;
  }

  private timesOf(id: string): StepTimes {
    let times = this.times.get(id);
    if (!times) this.times.set(id, (times = { waits: new Map() }));
    return times;
  }

  private reach(atMs: number): void {
    this.frontierMs = Math.max(this.frontierMs, atMs);
  }
}
