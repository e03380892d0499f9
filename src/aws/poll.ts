import type { Clock } from './clock.js';
import { formatDuration } from './clock.js';
import { classify, errorCode, type AwsErrorKind } from './errors.js';

export class WaitTimeout extends Error {
  override name = 'WaitTimeout';
}

export interface PollOptions {
  clock: Clock;
  /** What we wait for, as the operator should read it: "NAT gateway nat-0a1 to become available". */
  what: string;
  timeoutMs: number;
  /** First delay between checks; it grows by half each time up to maxDelayMs. */
  delayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  onWait?: (seen: string) => void;
}

/** The first delay between checks, growing by half up to the longest. */
export interface PollPace {
  delayMs: number;
  maxDelayMs: number;
}

/**
 * Checks sized to a resource AWS readies in about `minutes`: a few early looks, then one every
 * third of the typical time, so a 15-minute database costs a handful of calls, not thirty.
 */
export function paceFor(minutes: number): PollPace {
  const third = (minutes * 60_000) / 3;
  return { delayMs: Math.max(5_000, third / 2), maxDelayMs: Math.max(5_000, third) };
}

export type Check<T> = () => Promise<{ done: true; value: T } | { done: false; seen: string }>;

/**
 * The one polling helper: checks until done, backing off on the injected clock, and on the
 * deadline fails with what it waited for and what it last saw.
 */
export async function poll<T>(options: PollOptions, check: Check<T>): Promise<T> {
  const { clock, timeoutMs, signal } = options;
  const deadline = clock.now() + timeoutMs;
  let delay = options.delayMs ?? 5_000;
  const maxDelay = options.maxDelayMs ?? 30_000;
  let lastSeen = 'nothing yet';
  for (;;) {
    signal?.throwIfAborted();
    const result = await check();
    if (result.done) return result.value;
    lastSeen = result.seen;
    options.onWait?.(lastSeen);
    if (clock.now() + delay > deadline) {
      throw new WaitTimeout(`timed out after ${formatDuration(timeoutMs)} waiting for ${options.what}; last seen: ${lastSeen}`);
    }
    await clock.sleep(delay, signal);
    delay = Math.min(maxDelay, Math.ceil(delay * 1.5));
  }
}

/**
 * Runs `action` until it stops failing with one of `kinds`: the errors AWS tells us to retry
 * with backoff (NotFound right after a create, DependencyViolation while ENIs drain, ...).
 */
export async function retryWhile<T>(
  kinds: AwsErrorKind[] | ((err: unknown) => boolean),
  options: PollOptions,
  action: () => Promise<T>,
): Promise<T> {
  const retryable = typeof kinds === 'function' ? kinds : (err: unknown) => kinds.includes(classify(err));
  return poll(options, async () => {
    try {
      return { done: true, value: await action() };
    } catch (err) {
      if (!retryable(err)) throw err;
      return { done: false, seen: `${errorCode(err)}: ${(err as Error).message}` };
    }
  });
}
