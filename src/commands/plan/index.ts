import { createAwsSession } from '../../aws/clients.js';
import { EXIT, type ExitCode } from '../../errors.js';
import { resolveDeployment } from '../deployment.js';
import type { CommandContext } from '../options.js';
import { openSession } from '../session.js';
import { planScreen } from './screen.js';

/**
 * `plan`: what an install would do, in which order and what side by side, and what it would cost
 * a month. It creates nothing and reads no resource of the deployment: the region is checked for
 * its shape only (install asks AWS whether it exists). It asks DescribeImages for the root volumes
 * of the images the install would boot from (the sandbox's with --sandbox), and on a real account
 * the read-only Price List API for current prices; `plan --sandbox` prices from the built-in table.
 */
export async function plan(ctx: CommandContext): Promise<ExitCode> {
  const { options, host } = ctx;
  const deployment = await resolveDeployment(options);
  // An installed deployment knows its account (bucket names carry it); a new one shows <account>.
  const account = deployment.state?.steps['iam-role']?.outputs?.accountId;
  // The sandbox's session only reads its images (leaving nothing behind); prices stay the table's.
  const aws = await openSession(options, deployment.config.region);
  // On a real account the images are asked through a quick session (two attempts, short
  // timeouts): a look-up given up at the plan's deadline must not keep the process waiting.
  const images = options.sandbox
    ? aws
    : await createAwsSession({ region: deployment.config.region, quick: true, ...(options.profile ? { profile: options.profile } : {}) });
  const screen = await planScreen({
    config: deployment.config,
    sandbox: options.sandbox,
    statusOf: (id) => deployment.state?.steps[id]?.status ?? 'pending',
    account: typeof account === 'string' ? account : undefined,
    pricing: options.sandbox ? { none: 'plan --sandbox asks no Price List' } : { clients: aws, label: 'AWS Price List API' },
    images: { clients: images, recorded: deployment.state?.steps['machine-images']?.outputs },
  });
  await aws.close();
  if (images !== aws) await images.close();
  host.notify({
    level: 'result',
    code: 'plan',
    text: screen.lines.join('\n'),
    data: { ...screen.view, cost: screen.cost, config: deployment.config },
  });
  return EXIT.ok;
}
