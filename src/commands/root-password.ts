import { badInput, EXIT, type ExitCode } from '../errors.js';
import { line } from '../ui/io.js';
import { guideNames } from '../steps/names.js';
import { loadDeployment, openSession, preflight, type CommandContext } from './context.js';

/**
 * `root-password`: the one secret an operator needs in hand (to sign in as root), printed only
 * when asked for, read from SSM Parameter Store; it is never written anywhere else.
 */
export async function rootPassword(ctx: CommandContext): Promise<ExitCode> {
  const deployment = await loadDeployment(ctx);
  if (!deployment.state) throw badInput(`there is no deployment '${ctx.options.deployment}' in ${ctx.options.stateDir}`);
  const aws = await openSession(ctx, deployment.config.region);
  try {
    await preflight(aws);
    const name = `${guideNames(ctx.options.deployment).parameterPath}/root-password`;
    const ssm = await aws.ssm();
    let value: string | undefined;
    try {
      value = (await ssm.getParameter({ Name: name, WithDecryption: true })).Parameter?.Value;
    } catch {
      value = undefined;
    }
    if (!value) throw badInput(`no root password stored at ${name}`, 'run install (or resume) first');
    line(ctx.io.stdout, ctx.options.json ? JSON.stringify({ username: 'root', password: value }) : value);
    return EXIT.ok;
  } finally {
    await aws.close();
  }
}
