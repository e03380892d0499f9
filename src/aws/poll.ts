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
  /** How long AWS typically takes to get there (from `paceFor`): what the operator is told to expect. */
  typicalMs?: number;
  signal?: AbortSignal;
  onWait?: (wait: Wait) => void;
}

/** How long to wait for a resource, and how often to look. */
export interface PollPace {
  timeoutMs: number;
  delayMs: number;
  maxDelayMs: number;
  /** What the operator is told to expect (paceFor's minutes). */
  typicalMs?: number;
}

/**
 * A wait as the operator reads it: "RDS instance gitlab-db-ha: creating, 6 of ~15 min". `what`
 * and `until` are the two halves of the poll's phrase ("RDS instance gitlab-db-ha" / "available"),
 * `state` what AWS last said, `waitedMs` the time since the poll began, on its clock.
 */
export interface Wait {
  what: string;
  until?: string;
  state: string;
  waitedMs: number;
  typicalMs?: number;
}

/**
 * Splits "NAT gateway nat-1 to become available" into its subject and its goal. Every step already
 * names its waits in that form (the timeout message reads it whole), so the structured wait comes
 * from the one phrase rather than from a second argument at every call.
 */
export function waitPhrase(what: string): Pick<Wait, 'what' | 'until'> {
  const at = what.indexOf(' to ');
  if (at < 0) return { what };
  const until = what.slice(at + 4).replace(/^(become|be) /, '');
  return { what: what.slice(0, at), until };
}

const MINUTE_MS = 60_000;

/**
 * The pace for a resource AWS typically makes in `minutes`: the first look at about half that
 * time, then every sixth of it, giving up at ten times it (five minutes at least). A 12-minute
 * cache is then looked at about five times, not every 30 s from the start.
 */
export function paceFor(minutes: number): PollPace {
  const typical = minutes * MINUTE_MS;
  return {
    timeoutMs: Math.max(5 * MINUTE_MS, 10 * typical),
    delayMs: Math.max(5_000, Math.round(typical / 2)),
    maxDelayMs: Math.max(30_000, Math.round(typical / 6)),
    typicalMs: typical,
  };
}

export type Check<T> = () => Promise<{ done: true; value: T } | { done: false; seen: string }>;

/**
 * The one polling helper: checks until done, backing off on the injected clock, and on the
 * deadline fails with what it waited for and what it last saw.
 */
export async function poll<T>(options: PollOptions, check: Check<T>): Promise<T> {
  const { clock, timeoutMs, signal } = options;
  const began = clock.now();
  const deadline = began + timeoutMs;
  const phrase = waitPhrase(options.what);
  let delay = options.delayMs ?? 5_000;
  const maxDelay = options.maxDelayMs ?? 30_000;
  let lastSeen = 'nothing yet';
  for (;;) {
    signal?.throwIfAborted();
    const result = await check();
    if (result.done) return result.value;
    lastSeen = result.seen;
    options.onWait?.({
      ...phrase,
      state: lastSeen,
      waitedMs: clock.now() - began,
      ...(options.typicalMs === undefined ? {} : { typicalMs: options.typicalMs }),
    });
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
