import { EXIT, type ExitCode } from '../../errors.js';
import { GUIDE_STEPS } from '../../steps/index.js';
import { resolveDeployment, type Deployment } from '../deployment.js';
import { discoverDeployment, resourceLine } from '../discovery.js';
import type { CommandContext, GlobalOptions } from '../options.js';
import { runPipeline } from '../pipeline.js';

interface StatusView {
  deployment: string;
  region: string;
  sandbox: boolean;
  source: 'state' | 'discovery';
  exists: boolean;
  steps: Array<{ id: string; title: string; status: string }>;
  resources: Array<{ type: string; id: string; step: string }>;
}

/**
 * `status`: what the state file records, or with --discover what AWS (or the sandbox) holds
 * tagged with this deployment, found by the same lookups the steps use to adopt and tear down.
 */
export async function status(ctx: CommandContext, { discover }: { discover?: boolean }): Promise<ExitCode> {
  if (!discover) {
    const deployment = await resolveDeployment(ctx.options);
    const resources = (deployment.state?.resources ?? []).map(({ type, id, step }) => ({ type, id, step }));
    return show(ctx, deployment, resources, 'state');
  }
  return runPipeline(ctx, {
    run: async (ready) => show(ctx, ready.deployment, await discoverDeployment(ready), 'discovery'),
  });
}

function show(ctx: CommandContext, deployment: Deployment, resources: StatusView['resources'], source: StatusView['source']): ExitCode {
  const { options } = ctx;
  const view: StatusView = {
    deployment: options.deployment,
    region: deployment.config.region,
    sandbox: options.sandbox,
    source,
    exists: Boolean(deployment.state),
    steps: GUIDE_STEPS.map((s) => ({ id: s.id, title: s.title, status: deployment.state?.steps[s.id]?.status ?? 'pending' })),
    resources,
  };
  ctx.host.notify({ level: 'result', code: 'status', text: statusText(view, options), data: view });
  return EXIT.ok;
}

function statusText(view: StatusView, options: GlobalOptions): string {
  if (!view.exists && view.source === 'state') return `No deployment '${options.deployment}' in ${options.stateDir}.`;
  const lines = [`Deployment '${view.deployment}' in ${view.region}${view.sandbox ? ' (sandbox)' : ''}`];
  if (view.source === 'state') {
    const width = Math.max(...view.steps.map((s) => s.title.length));
    for (const s of view.steps) lines.push(`  ${s.title.padEnd(width)}  ${s.status}`);
  }
  lines.push(
    view.source === 'discovery'
      ? `Tagged with this deployment in AWS: ${view.resources.length}`
      : `Recorded resources: ${view.resources.length}`,
  );
  for (const r of view.resources) lines.push(resourceLine(r));
  return lines.join('\n');
}
