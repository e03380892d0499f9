import { stat } from 'node:fs/promises';
import { withAccountLock } from './account-lock.js';
import { loadWorld, saveWorld, type World } from './world.js';

/**
 * The one sandbox account that every process on a state directory shares. Each call runs
 * against the latest world: a change is made under a cross-process lock, on the world as the
 * last writer left it, and saved before the lock is released (with the revision bumped); a read
 * picks up what another process saved since. So two deployments installing at the same time see
 * each other's resources, draw IDs from one generator, and never overwrite each other's work.
 */
export class Account {
  /** What the world file looked like when we last read or wrote it: unchanged means still ours. */
  private seen: string | undefined;
  /** Calls in this process, one at a time (each is a few ms of real time). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private current: World,
    readonly file: string,
    readonly lockFile: string,
  ) {}

  get world(): World {
    return this.current;
  }

  /** Runs one call: `change` for a mutating one (locked, then saved), `read` otherwise. */
  call<T>(mutating: boolean, work: (world: World) => T, beforeSave: (world: World) => void = () => undefined): Promise<T> {
    const run = async () => {
      if (!mutating) {
        await this.refresh();
        return work(this.current);
      }
      return withAccountLock(this.lockFile, async () => {
        await this.refresh();
        const result = work(this.current);
        beforeSave(this.current);
        await this.save();
        return result;
      });
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Saves the world as it is (under the lock), e.g. to keep the clock's reading. */
  touch(beforeSave: (world: World) => void): Promise<void> {
    return this.call(true, () => undefined, beforeSave);
  }

  private async save(): Promise<void> {
    this.current.revision += 1;
    await saveWorld(this.file, JSON.stringify(this.current));
    this.seen = await fingerprint(this.file);
  }

  /** Adopts what another process saved since we last looked (a later revision of the world). */
  private async refresh(): Promise<void> {
    const now = await fingerprint(this.file);
    if (now === undefined || now === this.seen) return;
    const latest = await loadWorld(this.file);
    if (!latest) return;
    this.seen = now;
    if (latest.revision > this.current.revision) this.current = latest;
  }
}

/** Inode, size and modification time: every save renames a new file into place, so they change. */
async function fingerprint(file: string): Promise<string | undefined> {
  try {
    const s = await stat(file, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
