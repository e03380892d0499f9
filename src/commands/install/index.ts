import { randomBytes } from 'node:crypto';
import { badInput, type ExitCode } from '../../errors.js';
import { newStateDoc, StateStore } from '../../state/store.js';
import { foreignVpcNote, foreignVpcs, foreignVpcWarning } from '../../steps/vpc.js';
import { planScreen } from '../plan/screen.js';
import { VERSION } from '../../version.js';
import { rdsPostgres } from '../../steps/rds-postgres.js';
import { execute, exitCodeOf } from '../execute.js';
import { confirmBurstableDatabase } from './database.js';
import { commandLine, type CommandContext } from '../options.js';
import { installSummary } from './summary.js';
import { runPipeline } from '../pipeline.js';
import { installAnswers } from './wizard.js';

/**
 * `install` and `resume`: check everything, show the plan, then build whatever is not built yet.
 * An existing state file means a resume: completed steps are verified, not redone.
 */
export function install({ resume }: { resume: boolean }) {
  return (ctx: CommandContext): Promise<ExitCode> => {
    const { options, host } = ctx;
    return runPipeline(ctx, {
      check(deployment) {
        if (resume && !deployment.state) {
          throw badInput(
            `there is no deployment '${options.deployment}' in ${options.stateDir} to resume`,
            `start one with '${commandLine(options, 'install')}'`,
          );
        }
      },
      answer: installAnswers,
      async present({ deployment, identity, aws }) {
        const status = (id: string) => deployment.state?.steps[id]?.status ?? 'pending';
        const label = aws.sandbox ? 'sandbox Price List' : 'AWS Price List API';
        const plan = await planScreen({
          config: deployment.config,
          sandbox: options.sandbox,
          statusOf: status,
          account: identity.account,
          pricing: { clients: aws, label },
          images: { clients: aws, recorded: deployment.state?.steps['machine-images']?.outputs },
        });
        // Only the install asks AWS (plan alone touches nothing); never adopted, so said up front.
        const foreign = await foreignVpcs(await aws.ec2(), options.deployment);
        const note = foreign.length ? [foreignVpcNote(options.deployment, foreign)] : [];
        host.notify({
          level: 'info',
          code: 'plan',
          text: [...plan.lines, ...note, ''].join('\n'),
          data: { ...plan.view, cost: plan.cost },
        });
        if (foreign.length) {
          host.notify({
            level: 'warn',
            code: 'warn.foreign-vpc',
            text: foreignVpcWarning(options.deployment, foreign),
            data: { vpcs: foreign },
          });
        }
        if (deployment.config.sshFromAnywhere) {
          host.notify({
            level: 'warn',
            code: 'warn.ssh-open',
            text: 'warning: SSH (Git over SSH and the bastions) will be open to the whole internet, as asked with --ssh-from-anywhere',
          });
        }
        if (status(rdsPostgres.id) !== 'complete') await confirmBurstableDatabase(host, deployment.config);
      },
      confirm: ({ deployment }) =>
        deployment.state
          ? { id: 'confirm-resume', message: 'Continue this deployment?', default: false, withYes: true }
          : { id: 'confirm-install', message: 'Create these resources?', default: false, withYes: true },
      builds: true,
      lock: resume ? 'gitlab-aws resume' : 'gitlab-aws install',
      async run({ deployment, aws }, state) {
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
        if (result.ok) {
          const resources = store.state.resources.length;
          host.notify({
            level: 'info',
            code: 'install.done',
            text: [
              `Deployment '${options.deployment}' is up: ${resources} resources recorded in ${deployment.paths.file}.`,
              `See them with '${commandLine(options, 'status')}'; remove them with '${commandLine(options, 'teardown')}'.`,
            ].join('\n'),
            data: { deployment: options.deployment, resources, stateFile: deployment.paths.file },
          });
          // Where GitLab is and what is left to do (the name servers of a zone we made among them).
          host.notify(installSummary(options, store.state));
        }
        return exitCodeOf(result);
      },
    });
  };
}
