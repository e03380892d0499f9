import { DeploymentLock } from '../state/lock.js';
import type { IoHost } from '../ui/host.js';

/** One run at a time per deployment; a lock left by a dead process is taken over, with a notice. */
export async function withLock<T>(host: IoHost, lockFile: string, command: string, work: () => Promise<T>): Promise<T> {
  const lock = await DeploymentLock.acquire(lockFile, command, (stale) => {
    host.notify({
      level: 'warn',
      code: 'lock.stale',
      text: `Taking over a stale lock left by PID ${stale.pid} (${stale.command}), which is no longer running.`,
      data: stale,
    });
  });
  try {
    return await work();
  } finally {
    await lock.release();
  }
}
