import { isBurstableDbClass } from '../../aws/rds-limits.js';
import { DATABASE_DEFAULTS, type InstallConfig } from '../../config/schema.js';
import { badInput } from '../../errors.js';
import type { IoHost } from '../../ui/host.js';

/**
 * The guide advises against a burstable class (db.t*) for GitLab's database: its CPU credits run
 * out under load. One is used only after a warning and a "yes" the operator gives on purpose:
 * `database.allowBurstable: true` in the answers, or yes to the question. `--yes` does not count,
 * since it answers every question at once, unread.
 */
export async function confirmBurstableDatabase(host: IoHost, config: InstallConfig): Promise<void> {
  const { instanceClass, allowBurstable } = config.database;
  if (!isBurstableDbClass(instanceClass) || allowBurstable) return;
  const advice = `${instanceClass} is a burstable class; the guide advises against it for GitLab's database (it slows down once its CPU credits run out)`;
  // The warning is the question itself, so a refusal stays one line.
  const yes = await host.ask({ id: 'confirm-burstable-db', message: `${advice}. Use it anyway?`, default: false, withYes: false });
  if (!yes) {
    throw badInput(
      `database.instanceClass ${instanceClass} is burstable and was not confirmed`,
      `choose a non-burstable class such as ${DATABASE_DEFAULTS.instanceClass}, or set database.allowBurstable: true in --config`,
    );
  }
  host.notify({ level: 'warn', code: 'warn.burstable-db', text: `warning: ${advice}; used as confirmed`, data: { instanceClass } });
}
