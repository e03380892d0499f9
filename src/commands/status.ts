import { makeContext, uniqueResources } from '../engine/run.js';
import { EXIT, type ExitCode } from '../errors.js';
import { newStateDoc, StateStore } from '../state/store.js';
import { GUIDE_STEPS } from '../steps/index.js';
import { line } from '../ui/io.js';
import { loadDeployment, openSession, preflight, type CommandContext } from './context.js';

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
export async function status(ctx: CommandContext, { discover }: { discover: boolean }): Promise<ExitCode> {
  const { options, io } = ctx;
  const deployment = await loadDeployment(ctx);
  const steps = GUIDE_STEPS.map((s) => ({ id: s.id, title: s.title, status: deployment.state?.steps[s.id]?.status ?? 'pending' }));
  let resources: StatusView['resources'];
  if (discover) {
    const aws = await openSession(ctx, deployment.config.region);
    try {
      await preflight(aws);
      // Discovery only reads; this store lives in memory and is never written.
      const store = new StateStore(
        deployment.paths.file,
        deployment.state ??
          newStateDoc({
            deployment: options.deployment,
            installId: 'discovery',
            sandbox: options.sandbox,
            config: deployment.config,
            writtenBy: 'discovery',
          }),
      );
      const found = await Promise.all(
        GUIDE_STEPS.map(async (step) => {
          const refs = await step.discover(makeContext(step, { store, aws, emit: () => undefined }, new AbortController().signal));
          return uniqueResources(refs).map((r) => ({ type: r.type, id: r.id, step: step.id }));
        }),
      );
      resources = found.flat();
    } finally {
      await aws.close();
    }
  } else {
    resources = (deployment.state?.resources ?? []).map(({ type, id, step }) => ({ type, id, step }));
  }

  const view: StatusView = {
    deployment: options.deployment,
    region: deployment.config.region,
    sandbox: options.sandbox,
    source: discover ? 'discovery' : 'state',
    exists: Boolean(deployment.state),
    steps,
    resources,
  };
  if (options.json) {
    line(io.stdout, JSON.stringify(view));
    return EXIT.ok;
  }
  if (!deployment.state && !discover) {
    line(io.stdout, `No deployment '${options.deployment}' in ${options.stateDir}.`);
    return EXIT.ok;
  }
  line(io.stdout, `Deployment '${view.deployment}' in ${view.region}${view.sandbox ? ' (sandbox)' : ''}`);
  if (!discover) {
    const width = Math.max(...steps.map((s) => s.title.length));
    for (const s of steps) line(io.stdout, `  ${s.title.padEnd(width)}  ${s.status}`);
  }
  line(io.stdout, discover ? `Tagged with this deployment in AWS: ${resources.length}` : `Recorded resources: ${resources.length}`);
  for (const r of resources) line(io.stdout, `  ${r.type.padEnd(28)} ${r.id}  (${r.step})`);
  return EXIT.ok;
}
