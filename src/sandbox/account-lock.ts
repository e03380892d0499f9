import { hostname } from 'node:os';
import { link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as wait } from 'node:timers/promises';
import { isAlive } from '../state/lock.js';

/**
 * A call holds the lock for milliseconds. A lock this old (real time) is stale even when its PID
 * runs: that PID is another process now (PIDs are reused; a container restarted on the same state
 * directory starts counting again).
 */
const STALE_AFTER_MS = 10_000;

/**
 * A cross-process lock around one sandbox call: held while the call changes the account and the
 * world is saved, never across a clock wait. The lock file names its holder's PID and appears
 * complete or not at all (written aside, then hard-linked into place, which fails if it exists),
 * so a lock left by a killed process (kill -9) is recognised at once and taken over (and one
 * held for longer than any call takes, after STALE_AFTER_MS).
 *
 * Not proper-lockfile: it judges staleness by the lock's age (5 s at the least), so every
 * process killed while holding the lock would stall the next call for seconds; the crash tests
 * kill hundreds of runs right after a save.
 */
export async function withAccountLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  await acquire(path);
  try {
    return await work();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

/** Lock files this process has written aside so far: each has its own name. */
let asides = 0;

async function acquire(path: string): Promise<void> {
  const me = { pid: process.pid, host: hostname() };
  const aside = `${path}.${process.pid}.${++asides}`;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(aside, JSON.stringify(me), { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(aside, path);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readHolder(path);
      if (holder === 'gone') continue;
      if (holder && isAlive(holder) && !(await heldFor(path, STALE_AFTER_MS))) {
        await wait(Math.min(20, 1 + attempt));
        continue;
      }
      await takeOver(path, holder);
    }
  } finally {
    await unlink(aside).catch(() => undefined);
  }
}

/**
 * Removes a dead holder's lock. Renaming it aside first means only one of several waiting
 * processes removes it; if what was renamed turns out to be a live holder's fresh lock (it
 * replaced the stale one in between), it is put back.
 */
async function takeOver(path: string, stale: Holder | undefined): Promise<void> {
  const aside = `${path}.stale.${process.pid}.${++asides}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else removed it
    throw err;
  }
  const taken = await readHolder(aside);
  const replaced = taken !== 'gone' && taken && (taken.pid !== stale?.pid || taken.host !== stale.host);
  if (replaced && isAlive(taken) && !(await heldFor(aside, STALE_AFTER_MS))) {
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

async function heldFor(path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > ms;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

interface Holder {
  pid: number;
  host: string;
}

async function readHolder(path: string): Promise<Holder | 'gone' | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const holder = JSON.parse(text) as Holder;
    return typeof holder.pid === 'number' && typeof holder.host === 'string' ? holder : undefined;
  } catch {
    return undefined; // never written by a lock taker (they link complete files): not a live holder
  }
}
