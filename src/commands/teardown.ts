import { badInput, EXIT, type ExitCode } from '../errors.js';
import { readState, StateStore } from '../state/store.js';
import { line, paint } from '../ui/io.js';
import {
  confirm,
  execute,
  exitCodeOf,
  loadDeployment,
  openSession,
  preflight,
  resumeCommand,
  withLock,
  type CommandContext,
} from './context.js';

/**
 * `teardown`: removes exactly what this deployment made: what the state file recorded plus
 * whatever carries the deployment's tags (a crash can create something before it is recorded).
 */
export async function teardown(ctx: CommandContext): Promise<ExitCode> {
  const { options, io } = ctx;
  const deployment = await loadDeployment(ctx);
  if (!deployment.state) {
    throw badInput(
      `there is no deployment '${options.deployment}' in ${options.stateDir}`,
      `check --deployment and --state-dir; 'gitlab-aws status --discover' lists what AWS holds with this deployment's tags`,
    );
  }
  const aws = await openSession(ctx, deployment.config.region);
  try {
    await preflight(aws);
    if (!options.json) {
      line(
        io.stdout,
        `Teardown of deployment '${options.deployment}' in ${deployment.config.region}${options.sandbox ? ' (sandbox)' : ''}: ${deployment.state.resources.length} recorded resources, plus anything tagged with this deployment.`,
      );
    }
    await confirm(ctx, `Delete everything deployment '${options.deployment}' created?`);
    return await withLock(ctx, deployment, 'gitlab-aws teardown', async () => {
      const state = await readState(deployment.paths.file);
      if (!state) throw badInput(`deployment '${options.deployment}' disappeared while waiting for the lock`);
      const store = new StateStore(deployment.paths.file, state);
      const result = await execute(ctx, deployment, aws, store, 'teardown');
      if (!result.ok) return exitCodeOf(result);
      const kept = store.state.resources;
      if (kept.length === 0) {
        await store.remove();
        if (!options.json)
          line(
            io.stdout,
            paint(io, 'green', `Deployment '${options.deployment}' is gone; the last state is kept in ${deployment.paths.backup}.`),
          );
      } else if (!options.json) {
        line(io.stdout, paint(io, 'yellow', `Kept ${kept.length} S3 bucket(s) that hold data: ${kept.map((r) => r.id).join(', ')}.`));
        line(
          io.stdout,
          `Everything else is gone. To delete the buckets and their data too: ${resumeCommand(options, 'teardown')} --delete-data`,
        );
      }
      return EXIT.ok;
    });
  } finally {
    await aws.close();
  }
}
