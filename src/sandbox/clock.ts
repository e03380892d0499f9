import { AsyncLocalStorage } from 'node:async_hooks';
import { scaledSleep, type Clock } from '../aws/clock.js';

/**
 * The sandbox clock: virtual time, exact whatever this machine does meanwhile. Each timeline
 * (a step, or one branch of a step's parallel work) keeps its own time, which moves only when
 * it waits; a wait of N AWS-milliseconds also takes N/speed real ones, which only paces the run
 * for the eye. The clock's overall reading is the latest any timeline has reached.
 */
export class SandboxClock implements Clock {
  readonly simulated = true;
  private readonly timelines = new AsyncLocalStorage<{ time: number }>();
  constructor(
    private latest: number,
    readonly speed: number,
  ) {}
  now(): number {
    return this.timelines.getStore()?.time ?? this.latest;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const timeline = this.timelines.getStore();
    const due = (timeline?.time ?? this.latest) + Math.max(0, ms);
    await scaledSleep(Math.max(0, ms) / this.speed, signal);
    if (timeline) timeline.time = Math.max(timeline.time, due);
    this.latest = Math.max(this.latest, due);
  }
  timeline<T>(startAt: number, work: () => Promise<T>): Promise<T> {
    return this.timelines.run({ time: startAt }, work);
  }
  /** The latest time any timeline has reached: what the world remembers between runs. */
  get overall(): number {
    return this.latest;
  }
}
