import { runTeardown } from '../engine/run.js';
import { badInput, EXIT, type ExitCode } from '../errors.js';
import { readState, StateStore } from '../state/store.js';
import { GUIDE_STEPS } from '../steps/index.js';
import { line, paint } from '../ui/io.js';
import { createRenderer, renderMode } from '../ui/progress.js';
import { confirm, loadDeployment, openSession, preflight, resumeCommand, withLock, type CommandContext } from './context.js';

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
      line(io.stdout, `Teardown of deployment '${options.deployment}' in ${deployment.config.region}${options.sandbox ? ' (sandbox)' : ''}: ${deployment.state.resources.length} recorded resources, plus anything tagged with this deployment.`);
    }
    await confirm(ctx, `Delete everything deployment '${options.deployment}' created?`);
    return await withLock(ctx, deployment, 'gitlab-aws teardown', async () => {
      const state = await readState(deployment.paths.file);
      if (!state) throw badInput(`deployment '${options.deployment}' disappeared while waiting for the lock`);
      const store = new StateStore(deployment.paths.file, state);
      const renderer = createRenderer(renderMode(io, options.json), io, aws.clock, options.verbose);
      let result;
      try {
        result = await runTeardown({ steps: GUIDE_STEPS, store, aws, emit: renderer.sink, signal: ctx.signal });
      } finally {
        renderer.close();
      }
      if (result.ok) {
        await store.remove();
        if (!options.json) line(io.stdout, paint(io, 'green', `Deployment '${options.deployment}' is gone; the last state is kept in ${deployment.paths.backup}.`));
        return EXIT.ok;
      }
      if (!options.json) {
        for (const failure of result.failed) line(io.stderr, paint(io, 'red', `✖ ${failure.step}: ${failure.error}`));
        line(io.stderr, `State saved in ${deployment.paths.file}. Run the teardown again to continue: ${resumeCommand(options, 'teardown')}`);
      }
      return result.stoppedBy === 'interrupt' ? EXIT.interrupted : EXIT.stepFailed;
    });
  } finally {
    await aws.close();
  }
}
