import { dirname } from 'node:path';
import { removeDeadTemps } from '../state/atomic.js';
import { DeploymentLock } from '../state/lock.js';
import type { CommandContext } from './options.js';

/**
 * One run at a time per deployment; a lock left by a dead process is taken over, with a notice.
 * Holding it, the run first removes the temp files killed writers left beside the state file,
 * and if the operator quits at once (a second Ctrl-C) the lock is still released.
 */
export async function withLock<T>(ctx: CommandContext, lockFile: string, command: string, work: () => Promise<T>): Promise<T> {
  const { host } = ctx;
  const lock = await DeploymentLock.acquire(lockFile, command, (stale) => {
    host.notify({
      level: 'warn',
      code: 'lock.stale',
      text: `Taking over a stale lock left by PID ${stale.pid} (${stale.command}), which is no longer running.`,
      data: stale,
    });
  });
  const forget = ctx.atQuit(() => lock.releaseNow());
  try {
    const removed = await removeDeadTemps(dirname(lockFile));
    if (removed.length > 0) {
      host.notify({
        level: 'debug',
        code: 'state.temps-removed',
        text: `Removed ${removed.length} temp file(s) left by killed runs: ${removed.join(', ')}`,
        data: { removed },
      });
    }
    return await work();
  } finally {
    forget();
    await lock.release();
  }
}
