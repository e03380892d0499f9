import { EXIT, type ExitCode } from '../../errors.js';
import { resolveDeployment } from '../deployment.js';
import type { CommandContext } from '../options.js';
import { openSession } from '../session.js';
import { planScreen } from './screen.js';

/**
 * `plan`: what an install would do, in which order and what side by side, and what it would cost
 * a month. It creates nothing and reads no resource: the region is checked for its shape only
 * (install asks AWS whether it exists). On a real account it asks the read-only Price List API
 * for current prices; `plan --sandbox` stays offline and prices from the built-in table.
 */
export async function plan(ctx: CommandContext): Promise<ExitCode> {
  const { options, host } = ctx;
  const deployment = await resolveDeployment(options);
  // An installed deployment knows its account (bucket names carry it); a new one shows <account>.
  const account = deployment.state?.steps['iam-role']?.outputs?.accountId;
  const aws = options.sandbox ? undefined : await openSession(options, deployment.config.region);
  const screen = await planScreen({
    config: deployment.config,
    sandbox: options.sandbox,
    statusOf: (id) => deployment.state?.steps[id]?.status ?? 'pending',
    account: typeof account === 'string' ? account : undefined,
    pricing: aws ? { clients: aws, label: 'AWS Price List API' } : { none: 'plan --sandbox asks nothing of AWS' },
  });
  await aws?.close();
  host.notify({
    level: 'result',
    code: 'plan',
    text: screen.lines.join('\n'),
    data: { ...screen.view, cost: screen.cost, config: deployment.config },
  });
  return EXIT.ok;
}
