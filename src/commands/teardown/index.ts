import { badInput, EXIT, type ExitCode } from '../../errors.js';
import { StateStore } from '../../state/store.js';
import { execute, exitCodeOf } from '../execute.js';
import { commandLine, type CommandContext } from '../options.js';
import { runPipeline } from '../pipeline.js';

/**
 * `teardown`: removes exactly what this deployment made: what the state file recorded plus
 * whatever carries the deployment's tags (a crash can create something before it is recorded).
 */
export async function teardown(ctx: CommandContext, own: { deleteData?: boolean }): Promise<ExitCode> {
  const { host } = ctx;
  const options = { ...ctx.options, deleteData: Boolean(own.deleteData) };
  const name = options.deployment;
  return runPipeline(
    { ...ctx, options },
    {
      check(deployment) {
        if (!deployment.state) {
          throw badInput(
            `there is no deployment '${name}' in ${options.stateDir}`,
            `check --deployment and --state-dir; '${commandLine(options, 'status', { region: deployment.config.region }, '--discover')}' lists what AWS holds with this deployment's tags`,
          );
        }
      },
      present({ deployment }) {
        const recorded = deployment.state?.resources.length ?? 0;
        host.notify({
          level: 'info',
          code: 'teardown.extent',
          text: `Teardown of deployment '${name}' in ${deployment.config.region}${options.sandbox ? ' (sandbox)' : ''}: ${recorded} recorded resources, plus anything tagged with this deployment.`,
          data: { deployment: name, region: deployment.config.region, recorded },
        });
      },
      confirm: () => ({
        id: 'confirm-teardown',
        message: `Delete everything deployment '${name}' created?`,
        default: false,
        withYes: true,
      }),
      lock: 'gitlab-aws teardown',
      async run({ ctx: runCtx, deployment, aws }, state) {
        if (!state) throw badInput(`deployment '${name}' disappeared while waiting for the lock`);
        const store = new StateStore(deployment.paths.file, state);
        const result = await execute(runCtx, deployment, aws, store, 'teardown');
        if (!result.ok) return exitCodeOf(result);
        const kept = store.state.resources;
        if (kept.length === 0) {
          await store.remove();
          host.notify({
            level: 'info',
            code: 'teardown.done',
            text: `Deployment '${name}' is gone; the last state is kept in ${deployment.paths.backup}.`,
            data: { deployment: name, backup: deployment.paths.backup },
          });
        } else {
          host.notify({
            level: 'info',
            code: 'teardown.kept',
            text: [
              `Kept ${kept.length} S3 bucket(s) that hold data: ${kept.map((r) => r.id).join(', ')}.`,
              `Everything else is gone. To delete the buckets and their data too: ${commandLine(options, 'teardown', {}, '--delete-data')}`,
            ].join('\n'),
            data: { deployment: name, kept: kept.map((r) => r.id) },
          });
        }
        return EXIT.ok;
      },
    },
  );
}
