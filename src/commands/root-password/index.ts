import { classify, errorCode, remedy } from '../../aws/errors.js';
import { badInput, errorMessage, EXIT, ExitError, type ExitCode } from '../../errors.js';
import { guideNames } from '../../steps/names.js';
import { commandLine, type CommandContext } from '../options.js';
import { runPipeline } from '../pipeline.js';

/**
 * `root-password`: the one secret an operator needs in hand (to sign in as root), printed only
 * when asked for, read from SSM Parameter Store; it is never written anywhere else.
 */
export async function rootPassword(ctx: CommandContext): Promise<ExitCode> {
  const { options, host } = ctx;
  return runPipeline(ctx, {
    check(deployment) {
      if (!deployment.state) {
        throw badInput(
          `there is no deployment '${options.deployment}' in ${options.stateDir}`,
          `check --deployment and --state-dir, or install it with '${commandLine(options, 'install')}'`,
        );
      }
    },
    async run({ aws }) {
      const name = `${guideNames(options.deployment).parameterPath}/root-password`;
      const ssm = await aws.ssm();
      let value: string | undefined;
      try {
        value = (await ssm.getParameter({ Name: name, WithDecryption: true })).Parameter?.Value;
      } catch (err) {
        // Only "not there" means not stored; a denial or a KMS failure is said as AWS said it.
        if (classify(err) !== 'not-found') {
          throw new ExitError(
            EXIT.stepFailed,
            `cannot read ${name}: ${errorCode(err) || 'error'}: ${errorMessage(err).split('\n')[0]}`,
            remedy(err) ?? 'check the parameter and its KMS key in the AWS console, then try again',
          );
        }
      }
      if (!value) throw badInput(`no root password stored at ${name}`, `finish the install first: '${commandLine(options, 'resume')}'`);
      host.notify({ level: 'result', code: 'root-password', text: value, data: { username: 'root', password: value } });
      return EXIT.ok;
    },
  });
}
