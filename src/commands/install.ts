import { randomBytes } from 'node:crypto';
import { badInput, type ExitCode } from '../errors.js';
import { newStateDoc, readState, StateStore } from '../state/store.js';
import { GUIDE_STEPS } from '../steps/index.js';
import { line, paint } from '../ui/io.js';
import { buildPlan, planLines } from '../ui/plan.js';
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
import { VERSION } from '../version.js';

/**
 * `install` and `resume`: check everything, show the plan, then build whatever is not built yet.
 * An existing state file means a resume: completed steps are verified, not redone.
 */
export async function install(ctx: CommandContext, { resume }: { resume: boolean }): Promise<ExitCode> {
  const { options, io } = ctx;
  const deployment = await loadDeployment(ctx);
  if (resume && !deployment.state) {
    throw badInput(
      `there is no deployment '${options.deployment}' in ${options.stateDir} to resume`,
      `start one with 'gitlab-aws install'`,
    );
  }
  const aws = await openSession(ctx, deployment.config.region);
  try {
    const identity = await preflight(aws);
    if (!options.json) {
      const status = (id: string) => deployment.state?.steps[id]?.status ?? 'pending';
      const plan = buildPlan(GUIDE_STEPS, deployment.config, options.sandbox, status, identity.account);
      for (const text of planLines(plan, deployment.config)) line(io.stdout, text);
      line(io.stdout);
    }
    if (deployment.config.sshFromAnywhere) {
      line(
        io.stderr,
        paint(
          io,
          'yellow',
          'warning: SSH (Git over SSH and the bastions) will be open to the whole internet, as asked with --ssh-from-anywhere',
        ),
      );
    }
    await confirm(ctx, deployment.state ? 'Continue this deployment?' : 'Create these resources?');

    return await withLock(ctx, deployment, resume ? 'gitlab-aws resume' : 'gitlab-aws install', async () => {
      // Re-read under the lock: another run may have changed the file since we looked.
      const state = await readState(deployment.paths.file);
      const store = state
        ? new StateStore(deployment.paths.file, state)
        : await StateStore.create(
            deployment.paths.file,
            newStateDoc({
              deployment: options.deployment,
              installId: randomBytes(8).toString('hex'),
              sandbox: options.sandbox,
              config: deployment.config,
              writtenBy: `gitlab-aws ${VERSION}`,
            }),
          );
      const result = await execute(ctx, deployment, aws, store, 'install');
      if (result.ok && !options.json) {
        line(
          io.stdout,
          paint(
            io,
            'green',
            `Deployment '${options.deployment}' is up: ${store.state.resources.length} resources recorded in ${deployment.paths.file}.`,
          ),
        );
        line(
          io.stdout,
          `See them with 'gitlab-aws status${options.sandbox ? ' --sandbox' : ''}'; remove them with '${resumeCommand(options, 'teardown')}'.`,
        );
      }
      return exitCodeOf(result);
    });
  } finally {
    await aws.close();
  }
}
