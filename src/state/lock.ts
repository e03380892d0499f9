import { hostname } from 'node:os';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { badInput } from '../errors.js';

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}

/**
 * One run at a time per deployment. The lock file appears atomically (written aside, then
 * hard-linked into place, which fails if it exists) and names the PID holding it, so a second run
 * can say who holds it and a lock left by a dead process can be recognised and taken over.
 */
export class DeploymentLock {
  private constructor(private readonly path: string) {}

  static async acquire(path: string, command: string, onStale: (info: LockInfo) => void): Promise<DeploymentLock> {
    const info: LockInfo = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
    const aside = `${path}.${process.pid}`;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(aside, JSON.stringify(info), { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await link(aside, path);
          return new DeploymentLock(path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const holder = await readLock(path);
        if (holder && isAlive(holder)) {
          throw badInput(
            `deployment is locked by PID ${holder.pid} (${holder.command}, since ${holder.startedAt})`,
            `wait for that run to finish; if PID ${holder.pid} is gone, delete ${path}`,
          );
        }
        if (holder) onStale(holder);
        await unlink(path).catch(() => undefined);
      }
      throw badInput(`could not take the lock ${path}`, 'another run keeps taking it; try again');
    } finally {
      await unlink(aside).catch(() => undefined);
    }
  }

  async release(): Promise<void> {
    await unlink(this.path).catch(() => undefined);
  }
}

async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockInfo;
  } catch {
    return undefined; // unreadable: treat as stale, it was never completely written by us
  }
}

/** Whether the process that wrote a lock still runs (on another host: assumed so). */
export function isAlive(info: Pick<LockInfo, 'pid' | 'host'>): boolean {
  if (info.host !== hostname()) return true; // cannot check another machine's process: assume it runs
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
