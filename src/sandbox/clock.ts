import { AsyncLocalStorage } from 'node:async_hooks';
import { scaledSleep, type Clock } from '../aws/clock.js';

/** A timeline's own time, and whether something on it is waiting right now. */
interface Timeline {
  time: number;
  waiting: boolean;
}

/**
 * Two waits at once on one timeline mean parallel work that did not fork a timeline of its own
 * (Promise.all inside a step): their times would add up on the one timeline, and the sandbox
 * would report a step taking longer than AWS takes. That is a bug in the caller, reported loudly.
 */
export class OverlappingWaits extends Error {
  override name = 'OverlappingWaits';
}

/**
 * The sandbox clock: virtual time, exact whatever this machine does meanwhile. Each timeline
 * (a step, or one branch of a step's parallel work) keeps its own time, which moves only when
 * it waits; a wait of N AWS-milliseconds also takes N/speed real ones, which only paces the run
 * for the eye. The clock's overall reading is the latest any timeline has reached.
 */
export class SandboxClock implements Clock {
  readonly simulated = true;
  private readonly timelines = new AsyncLocalStorage<Timeline>();
  constructor(
    private latest: number,
    readonly speed: number,
  ) {}
  now(): number {
    return this.timelines.getStore()?.time ?? this.latest;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const timeline = this.timelines.getStore();
    if (timeline?.waiting) {
      throw new OverlappingWaits(
        'two waits overlap on one timeline of the sandbox clock: run parallel parts of a step with ctx.each ' +
          '(each part gets a timeline of its own), not with Promise.all',
      );
    }
    const due = (timeline?.time ?? this.latest) + Math.max(0, ms);
    if (timeline) timeline.waiting = true;
    try {
      await scaledSleep(Math.max(0, ms) / this.speed, signal);
    } finally {
      if (timeline) timeline.waiting = false;
    }
    if (timeline) timeline.time = Math.max(timeline.time, due);
    this.latest = Math.max(this.latest, due);
  }
  timeline<T>(startAt: number, work: () => Promise<T>): Promise<T> {
    return this.timelines.run({ time: startAt, waiting: false }, work);
  }
  /** The latest time any timeline has reached: what the world remembers between runs. */
  get overall(): number {
    return this.latest;
  }
}
