import { EXIT, type ExitCode } from '../errors.js';
import { GUIDE_STEPS } from '../steps/index.js';
import { line } from '../ui/io.js';
import { buildPlan, planLines } from '../ui/plan.js';
import { loadDeployment, type CommandContext } from './context.js';

/** `plan`: what an install would do, in which order and what side by side; touches nothing. */
export async function plan(ctx: CommandContext): Promise<ExitCode> {
  const { options, io } = ctx;
  const deployment = await loadDeployment(ctx);
  const view = buildPlan(GUIDE_STEPS, deployment.config, options.sandbox, (id) => deployment.state?.steps[id]?.status ?? 'pending');
  if (options.json) line(io.stdout, JSON.stringify({ ...view, config: deployment.config }));
  else for (const text of planLines(view, deployment.config)) line(io.stdout, text);
  return EXIT.ok;
}
