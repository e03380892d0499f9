import { hostname } from 'node:os';
import { unlinkSync } from 'node:fs';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { badInput } from '../errors.js';

const lockInfoSchema = z.object({
  pid: z.number().int().positive(),
  host: z.string(),
  command: z.string(),
  startedAt: z.string(),
});
export type LockInfo = z.infer<typeof lockInfoSchema>;

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
        if (holder === 'released') continue;
        if (!holder) {
          // Ours appear whole (written aside, then linked), so this one is not ours half-written:
          // an older tool's, a hand-made one, or emptied by a power cut. Its holder cannot be
          // checked, and taking it over could let two runs build at once, so the operator decides.
          throw badInput(
            `the lock file ${path} is unreadable (it names no process)`,
            `if no gitlab-aws run is using this deployment, delete ${path} and run the command again`,
          );
        }
        if (isAlive(holder)) {
          throw badInput(
            `deployment is locked by PID ${holder.pid} (${holder.command}, since ${holder.startedAt})`,
            `wait for that run to finish; if PID ${holder.pid} is gone, delete ${path}`,
          );
        }
        onStale(holder);
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

  /** For a process about to exit at once (a second Ctrl-C), when no promise will run again. */
  releaseNow(): void {
    try {
      unlinkSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** The holder a lock file names, or undefined when it names none (garbage, `{}`, empty). */
async function readLock(path: string): Promise<LockInfo | 'released' | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    // Released between our link attempt and this read: the next attempt takes it.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'released';
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = lockInfoSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
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
