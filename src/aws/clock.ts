/**
 * Time as the program waits on it. Real runs use the wall clock; sandbox runs use the sandbox's
 * clock, on which AWS's minutes pass in milliseconds. Everything that waits or measures a step's
 * duration goes through this, never through setTimeout or Date.now directly.
 */
export interface Clock {
  /** Milliseconds since the epoch, on this clock. */
  now(): number;
  /** Wait `ms` of this clock's time; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** True when the clock runs faster than real time (the sandbox). */
  readonly simulated: boolean;
  /**
   * Runs `work` on a timeline of its own that starts at `startAt`. On the sandbox clock each
   * timeline keeps its own time, so work done side by side (steps, a step's parallel parts)
   * takes AWS's time once, not once per branch, however the machine interleaves it. On the wall
   * clock there is one timeline and this just runs `work`.
   */
  timeline<T>(startAt: number, work: () => Promise<T>): Promise<T>;
}

export function scaledSleep(realMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, realMs);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const wallClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => scaledSleep(Math.max(0, ms), signal),
  simulated: false,
  timeline: (_startAt, work) => work(),
};

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * Runs `works` side by side, each on a timeline of its own that starts now. Outside the engine's
 * steps (preflight, the price lookup) plain Promise.all would leave the sandbox clock to take the
 * concurrent waits in whatever order this machine ran them, so a retried call would move the
 * run's simulated times from one run to the next. On the wall clock this is Promise.all.
 */
export function sideBySide<const T extends readonly (() => Promise<unknown>)[]>(
  clock: Clock,
  works: T,
): Promise<{ -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
  const start = clock.now();
  return Promise.all(works.map((work) => clock.timeline(start, work))) as never;
}
