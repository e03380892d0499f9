import { EXIT, type ExitCode } from '../../errors.js';
import { GUIDE_STEPS } from '../../steps/index.js';
import { buildPlan, planLines } from '../../ui/plan.js';
import { resolveDeployment } from '../deployment.js';
import type { CommandContext } from '../options.js';

/**
 * `plan`: what an install would do, in which order and what side by side; touches nothing, not
 * even AWS, so the region is checked for its shape only (install asks AWS whether it exists).
 */
export async function plan(ctx: CommandContext): Promise<ExitCode> {
  const { options, host } = ctx;
  const deployment = await resolveDeployment(options);
  // An installed deployment knows its account (bucket names carry it); a new one shows <account>.
  const account = deployment.state?.steps['iam-role']?.outputs?.accountId;
  const view = buildPlan(
    GUIDE_STEPS,
    deployment.config,
    options.sandbox,
    (id) => deployment.state?.steps[id]?.status ?? 'pending',
    typeof account === 'string' ? account : undefined,
  );
  host.notify({
    level: 'result',
    code: 'plan',
    text: planLines(view, deployment.config).join('\n'),
    data: { ...view, config: deployment.config },
  });
  return EXIT.ok;
}
