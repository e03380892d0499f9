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
  sleep: (ms, signal) => scaledSleep(ms, signal),
  simulated: false,
};

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
